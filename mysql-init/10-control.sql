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
