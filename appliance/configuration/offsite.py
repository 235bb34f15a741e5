"""The guardian's offsite copies (issue 14; docs/offsite.md): where the restic repository
is, its password, and the retention asked of ``restic forget``."""

from __future__ import annotations

from dataclasses import dataclass

from appliance.configuration.declare import setting
from appliance.domain.offsite import RETENTION_FLOOR, shown

_COUNT = {"maximum": 10000, "dotenv": True}  # the minimum: RETENTION_FLOOR's (docs/offsite.md, "Retention")


@dataclass(frozen=True)
class OffsiteSettings:
    repository: str = setting(
        "NEOCUMA_OFFSITE_REPOSITORY",
        "",
        "The restic repository of the offsite copies: an absolute path (a mounted disk), sftp:user@host:/path,"
        " s3:https://host/bucket or rest:https://host:8000/; empty: no offsite copy.",
        dotenv=True,
        display=shown,  # a REST server's user:password@ masked
    )
    password: str = setting(
        "NEOCUMA_OFFSITE_PASSWORD",
        "",
        "The repository's password (put it in a file, and keep a copy offline: without it no copy can be read).",
        secret=True,
        dotenv=True,
    )
    keep_daily: int = setting(
        "NEOCUMA_OFFSITE_KEEP_DAILY",
        30,
        "Daily copies restic forget keeps (the newest of each day); at least a week's.",
        minimum=RETENTION_FLOOR.daily,
        **_COUNT,
    )
    keep_weekly: int = setting(
        "NEOCUMA_OFFSITE_KEEP_WEEKLY",
        12,
        "Weekly copies restic forget keeps; at least a month's.",
        minimum=RETENTION_FLOOR.weekly,
        **_COUNT,
    )
    keep_monthly: int = setting(
        "NEOCUMA_OFFSITE_KEEP_MONTHLY",
        12,
        "Monthly copies restic forget keeps; at least a quarter's.",
        minimum=RETENTION_FLOOR.monthly,
        **_COUNT,
    )
    check_every_hours: int = setting(
        "NEOCUMA_OFFSITE_CHECK_EVERY_HOURS",
        24,
        "Hours between two `restic check` of the repository, run after a push; 0: never.",
        minimum=0,
        maximum=8760,
        dotenv=True,
    )
    check_parts: int = setting(
        "NEOCUMA_OFFSITE_CHECK_PARTS",
        30,
        "Each check reads one part in this many of the stored data (`--read-data-subset=K/N`, K turning),"
        " so the whole repository is read every N checks.",
        minimum=1,
        maximum=10000,
        dotenv=True,
    )
    minimum_rate_kb: int = setting(
        "NEOCUMA_OFFSITE_MINIMUM_RATE_KB",
        100,
        "The slowest a push may go, in kB of the backup unpacked per second: each push's `restic backup` is"
        " stopped after 10 minutes plus its unpacked bytes at this rate (about 70 minutes for a 100 MB zip,"
        " 350 MB unpacked, at 100), and tried again at the next run.",
        minimum=1,
        maximum=1000000,
        dotenv=True,
    )
    command_minutes: int = setting(
        "NEOCUMA_OFFSITE_COMMAND_MINUTES",
        60,
        "The time limit of each other long restic command (`forget --prune`, `check`, `restore`); listing,"
        " creating and unlocking have their own of 2 to 10 minutes.",
        minimum=1,
        maximum=1440,
        dotenv=True,
    )
    s3_access_key_id: str = setting(
        "NEOCUMA_OFFSITE_S3_ACCESS_KEY_ID", "", "The S3 access key of an s3: repository.", dotenv=True
    )
    s3_secret_access_key: str = setting(
        "NEOCUMA_OFFSITE_S3_SECRET_ACCESS_KEY",
        "",
        "The S3 secret key of an s3: repository (put it in a file).",
        secret=True,
        dotenv=True,
    )
    sftp_key_file: str = setting(
        "NEOCUMA_OFFSITE_SFTP_KEY_FILE",
        "",
        "The private SSH key (unencrypted, mounted, owned by uid 10001, mode 0600) that logs in to an sftp:"
        " repository; required for one.",
        dotenv=True,
    )
    sftp_known_hosts_file: str = setting(
        "NEOCUMA_OFFSITE_SFTP_KNOWN_HOSTS_FILE",
        "",
        "A known_hosts file holding the SFTP server's host key (mounted): ssh accepts that key only, an unknown"
        " or changed one fails the push; required for an sftp: repository.",
        dotenv=True,
    )
