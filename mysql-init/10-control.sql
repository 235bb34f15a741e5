-- The control schema of a NeoCuma server (docs/design.md §3).
-- One row names the live data generation (schema neocuma_g<N>), the live system-files
-- generation (directory g<N> of the system volume) and the mode. The server reads it at the
-- start of every request; a swap is one committed UPDATE of this row.
CREATE DATABASE IF NOT EXISTS neocuma_control
    CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS neocuma_control.live (
    id                TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    data_generation   INT UNSIGNED NULL,
    system_generation INT UNSIGNED NULL,
    mode              ENUM('standby', 'fallback') NOT NULL DEFAULT 'standby',
    changed_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    CONSTRAINT live_single_row CHECK (id = 1)
) ENGINE=InnoDB;

INSERT IGNORE INTO neocuma_control.live (id, data_generation, system_generation, mode)
VALUES (1, NULL, NULL, 'standby');

-- The outbox of a local server (docs/design.md §10): every bon de travaux entered in fallback
-- mode, recorded in the same transaction as the bon. It lives here, not in a data generation,
-- because a sync swaps the generations and the local work must outlive the swap until the
-- guardian has replayed it on the central server.
CREATE TABLE IF NOT EXISTS neocuma_control.outbox (
    id              CHAR(36) NOT NULL PRIMARY KEY,
    seq             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE,
    dossier_code    VARCHAR(32) NOT NULL,
    kind            ENUM('bon') NOT NULL,
    payload         TEXT NOT NULL CHECK (JSON_VALID(payload)),
    local_id        INT UNSIGNED NOT NULL,
    local_numero    VARCHAR(32) NOT NULL,
    user_login      VARCHAR(64) NOT NULL,
    data_generation INT UNSIGNED NOT NULL,
    created_at      DATETIME(3) NOT NULL,
    state           ENUM('pending', 'applied', 'refused') NOT NULL DEFAULT 'pending',
    central_id      INT UNSIGNED NULL,
    central_numero  VARCHAR(32) NULL,
    reason          VARCHAR(2000) NULL,
    replayed_at     DATETIME(3) NULL,
    KEY outbox_state (state, seq)
) ENGINE=InnoDB;

-- The operations a central server has applied (docs/protocol.md, v1 replay): replaying the
-- same operation again answers "already applied" with the same central number.
CREATE TABLE IF NOT EXISTS neocuma_control.replayed (
    operation_id    CHAR(36) NOT NULL PRIMARY KEY,
    digest          CHAR(64) NOT NULL,
    dossier_code    VARCHAR(32) NOT NULL,
    bon_id          INT UNSIGNED NOT NULL,
    numero          VARCHAR(32) NOT NULL,
    local_numero    VARCHAR(32) NOT NULL,
    replayed_by     VARCHAR(64) NOT NULL,
    applied_at      DATETIME(3) NOT NULL
) ENGINE=InnoDB;
