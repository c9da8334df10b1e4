/**
 * Pure renderers for AOF backups: the backup agent (a bash script for the pinned AWS CLI image
 * that runs next to every Tile38 node on the node's data volume) and the restore command that a
 * Tile38 start script runs (busybox `sh`, via `TILE38_RESTORE_CMD`) before an empty node leads
 * a cluster in which no node holds data.
 *
 * ## Who uploads: the leader's agent
 * Every node has an agent, but only the agent whose node is the leader (its `SERVER` reply has no
 * `following`) uploads. Reasons:
 * - the leader's AOF is the authoritative one; a follower's may lag, or be in the middle of a
 *   resynchronisation after the leader rewrote its AOF (AOFSHRINK);
 * - there is exactly one leader, so no agent has to coordinate with another and nothing is
 *   uploaded twice;
 * - the leader pays little: Tile38 only answers one `SERVER` per interval; the agent is another
 *   process that reads the file sequentially, and uploads nothing when nothing changed. On the
 *   Docker target every node shares one host anyway, so a follower would spare nothing.
 *
 * ## What is uploaded: a consistent prefix
 * `aof_size` from `SERVER` is the length of the AOF up to the last complete command. The agent
 * uploads exactly the first `aof_size` bytes of `appendonly.aof`. The AOF is append-only except
 * when AOFSHRINK replaces it by a rename, so the agent notes the file's inode before asking for
 * `aof_size` and after the upload: if it changed, that round is discarded (no manifest is written).
 * Tile38 counts `aof_size` in whole commands, so the prefix ends on a command boundary; as a cheap
 * sanity check (not a parse) the agent also requires it to start with `*` and end with CRLF.
 *
 * ## Objects (all under the key prefix `P`)
 * - `P aof/<UTC stamp>-<node>.aof`: the AOF prefix (stamp `YYYYMMDDTHHMMSS.mmmZ`);
 * - `P manifests/<UTC stamp>-<node>.json`: `{"version":1,"node","key","manifest","size","sha256","time","epoch"}`,
 *   written only after the AOF object is complete (and its length checked);
 * - `P latest.json`: a copy of the newest manifest (the pointer).
 * Nothing is uploaded when the size and SHA-256 equal the pointer's, unless the pointer is older
 * than the refresh age (half the bucket's expiry), so that an idle cluster never lets its only
 * backup expire.
 *
 * ## Restore: a handshake through the data volume
 * The Tile38 image has no S3 client, so the restore command writes `DATA_DIR/.tile38-ha-restore/request`
 * (a request id) and waits, bounded, for `…/result`; both sides look every 0.2 s (a node waiting
 * to start is the cluster's downtime). The agent lists the manifests newest first (reading the
 * pointer meanwhile: when it names the newest manifest, that manifest need not be fetched again)
 * and for each one downloads the AOF, checks its size (a shorter object is refused as truncated)
 * and SHA-256 (refused as corrupt), then moves it into place as `DATA_DIR/appendonly.aof` and
 * answers `ok`. It answers `none` when no backup exists (a brand-new cluster starts empty) and
 * `fail` when S3 cannot be read or every backup was refused (the node then exits and is retried:
 * it never starts empty after a total loss by mistake).
 */
import { renderScriptFile, scriptSource } from "./scriptFiles";

/** Path of the agent script inside its container. */
export const BACKUP_AGENT_SCRIPT_PATH = "/usr/local/bin/tile38-ha-backup-agent";

/** Directory (inside DATA_DIR) of the restore handshake files. */
export const RESTORE_HANDSHAKE_DIR = ".tile38-ha-restore";

/** Name of the pointer object under the key prefix. */
export const BACKUP_POINTER_NAME = "latest.json";

/**
 * Environment the backup agent reads:
 * - `NODE_NAME` (required): the node's name, used in object keys and manifests (`[A-Za-z0-9._-]`).
 * - `TILE38_PORT` (required), `TILE38_HOST` (default 127.0.0.1), `TILE38_PASSWORD` (empty = no AUTH).
 * - `DATA_DIR` (default /data): the node's data volume.
 * - `BACKUP_BUCKET`, `BACKUP_PREFIX` (required; the prefix ends with `/`).
 * - `BACKUP_ENDPOINT`: custom S3 endpoint URL (S3-compatible stores); empty = AWS.
 * - `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`: the AWS CLI's
 *   own variables; without keys the CLI uses IRSA (web identity) or the instance role.
 * - `BACKUP_CREATE_BUCKET`: `1` = create the bucket if missing (the local S3 server only).
 * - `BACKUP_INTERVAL`, `BACKUP_REFRESH_SECONDS`: seconds (defaults rendered from the config).
 * - `AWS_BIN` (default `aws`).
 * - `BACKUP_METRICS_BIND`, `BACKUP_METRICS_PORT`: where the agent serves its Prometheus metrics
 *   (`/metrics`, by the image's Python); no port = no metrics.
 */
export const BACKUP_AGENT_ENV = [
    "NODE_NAME",
    "TILE38_HOST",
    "TILE38_PORT",
    "TILE38_PASSWORD",
    "DATA_DIR",
    "BACKUP_BUCKET",
    "BACKUP_PREFIX",
    "BACKUP_ENDPOINT",
    "BACKUP_CREATE_BUCKET",
    "BACKUP_INTERVAL",
    "BACKUP_REFRESH_SECONDS",
    "AWS_BIN",
    "BACKUP_METRICS_BIND",
    "BACKUP_METRICS_PORT",
] as const;

/** Settings baked into the agent script as defaults (the environment may override them). */
export interface BackupAgentSettings {
    /** Seconds between two backup rounds. */
    intervalSeconds: number;
    /**
     * Seconds after which an unchanged backup is uploaded again so that bucket expiry never
     * removes the only backup of an idle cluster; 0 = never. See {@link refreshSecondsFor}.
     */
    refreshSeconds: number;
}

/** Half the bucket's expiry (`expireDays`), in seconds: an unchanged backup is re-uploaded after it. */
export function refreshSecondsFor(expireDays: number): number {
    return Math.max(0, Math.floor((expireDays * 86400) / 2));
}

function checkSettings(s: BackupAgentSettings): void {
    if (!Number.isInteger(s.intervalSeconds) || s.intervalSeconds < 1) {
        throw new Error(`backup intervalSeconds must be a positive integer (got ${s.intervalSeconds})`);
    }
    if (!Number.isInteger(s.refreshSeconds) || s.refreshSeconds < 0) {
        throw new Error(`backup refreshSeconds must be an integer ≥ 0 (got ${s.refreshSeconds})`);
    }
}

/**
 * The backup agent: a bash script for the pinned AWS CLI image (bash ≥ 4.2, coreutils, the `aws`
 * CLI; no `nc`: RESP goes over bash's `/dev/tcp`). One script for every node; identity and
 * destination come from the environment ({@link BACKUP_AGENT_ENV}).
 */
export function renderBackupAgentScript(settings: BackupAgentSettings): string {
    checkSettings(settings);
    return renderScriptFile("backup-agent.sh", {
        DEFAULT_INTERVAL: settings.intervalSeconds,
        DEFAULT_REFRESH_SECONDS: settings.refreshSeconds,
        RESTORE_DIR_NAME: RESTORE_HANDSHAKE_DIR,
        POINTER_NAME: BACKUP_POINTER_NAME,
        METRICS_SERVER_SOURCE: scriptSource("backup-metrics-server.py"),
        NODE_LOOK_SECONDS: NODE_LOOK_SECONDS,
    });
}

/** Seconds between two looks of an agent at its node (read-only, answering) for the metrics. */
export const NODE_LOOK_SECONDS = 5;

/** Settings of the restore command. */
export interface RestoreCommandSettings {
    /** Seconds to wait for the agent's answer before failing (the node then exits and is retried). */
    timeoutSeconds: number;
}

/**
 * `TILE38_RESTORE_CMD` for the Tile38 start script (busybox `sh -c`; reads `DATA_DIR`, default
 * /data). Writes a request for the node's backup agent and waits, bounded, for its answer:
 * `ok` (it checks once more that the placed AOF has the announced size and SHA-256), `none`
 * (no backup exists: start empty) or `fail`/timeout (exit 1).
 */
export function renderRestoreCommand(settings: RestoreCommandSettings): string {
    if (!Number.isInteger(settings.timeoutSeconds) || settings.timeoutSeconds < 1) {
        throw new Error(`restore timeoutSeconds must be a positive integer (got ${settings.timeoutSeconds})`);
    }
    return renderScriptFile("restore.sh", { RESTORE_TIMEOUT: settings.timeoutSeconds, RESTORE_DIR_NAME: RESTORE_HANDSHAKE_DIR });
}

/**
 * The stack's `TILE38_RESTORE_CMD`: the restore handshake bounded by
 * `backup.restoreTimeoutSeconds`, or undefined when backups are off (nodes then start empty).
 */
export function restoreCommandFor(config: { backup: { enabled: boolean; restoreTimeoutSeconds: number } }): string | undefined {
    return config.backup.enabled ? renderRestoreCommand({ timeoutSeconds: config.backup.restoreTimeoutSeconds }) : undefined;
}

/** Inputs of {@link backupAgentEnv}: where one node's agent finds its node and its bucket. */
export interface BackupAgentEnvArgs {
    /** Node name (object keys, manifests). */
    nodeName: string;
    /** Address of the node from inside the agent's container (same host or pod). */
    tile38Host: string;
    /** The node's port. */
    tile38Port: number;
    /** Data volume mount path in the agent's container. */
    dataDir: string;
    /** Bucket name. */
    bucket: string;
    /** Key prefix (ends with `/`). */
    keyPrefix: string;
    /** Custom S3 endpoint URL; unset = AWS. */
    endpoint?: string;
    /** AWS region; unset = the CLI's default chain. */
    region?: string;
    /** Create the bucket if missing (local S3 server only). */
    createBucket: boolean;
    /** Address and port of the agent's metrics (`/metrics`); unset = none. */
    metrics?: { bind: string; port: number };
}

/** The non-secret environment of one agent (passwords and keys are added by the components as secrets). */
export function backupAgentEnv(args: BackupAgentEnvArgs): Record<string, string> {
    const env: Record<string, string> = {
        NODE_NAME: args.nodeName,
        TILE38_HOST: args.tile38Host,
        TILE38_PORT: String(args.tile38Port),
        DATA_DIR: args.dataDir,
        BACKUP_BUCKET: args.bucket,
        BACKUP_PREFIX: args.keyPrefix,
        BACKUP_CREATE_BUCKET: args.createBucket ? "1" : "0",
    };
    if (args.endpoint) env.BACKUP_ENDPOINT = args.endpoint;
    if (args.metrics) {
        env.BACKUP_METRICS_BIND = args.metrics.bind;
        env.BACKUP_METRICS_PORT = String(args.metrics.port);
    }
    if (args.region) {
        env.AWS_REGION = args.region;
        env.AWS_DEFAULT_REGION = args.region;
    }
    return env;
}
