/** Pinned images. Change them here (or per stack) and nowhere else. */
export const DEFAULT_IMAGES = {
    tile38: "tile38/tile38:1.37.0",
    /** Redis 7.2.x is the newest BSD-licensed Redis line and has every Sentinel hostname fix (≥ 7.0.8). */
    sentinel: "redis:7.2.12-alpine",
    localS3: "versity/versitygw:v1.8.0",
    /** Same AWS CLI version as Debian bookworm's `awscli`, which the integration tests run. */
    backupAgent: "amazon/aws-cli:2.9.19",
    /** The sentinels' exporter; the deploy suites build the same version from the Go module proxy. */
    sentinelExporter: "oliver006/redis_exporter:v1.74.0",
} as const;
