"""ClickHouse DDL, one ``CREATE TABLE IF NOT EXISTS`` file per table (runs on 18.16 and chdb 26.x)."""
