import { validateKubernetesSyntax } from "./kubernetesSyntax";
import { Field } from "./field";
import { SecretKey, SECTION_FIELDS } from "./schema";
import { StackConfig } from "./types";
import { ConfigIssue } from "./issues";

export type { ConfigIssue } from "./issues";
export { ConfigValidationError, formatIssues } from "./issues";

const NS = "tile38-ha";

/** Ports of each Tile38 node (Docker) or the single shared port (Kubernetes). */
export function tile38Ports(cfg: StackConfig): number[] {
    if (cfg.target === "kubernetes") return [cfg.tile38.port];
    return cfg.tile38.ports ?? Array.from({ length: Math.max(cfg.replicas, 0) }, (_, i) => cfg.tile38.port + i);
}

/** Ports of each sentinel (Docker) or the single shared port (Kubernetes). */
export function sentinelPorts(cfg: StackConfig): number[] {
    if (cfg.target === "kubernetes") return [cfg.sentinel.port];
    return cfg.sentinel.ports ?? Array.from({ length: Math.max(cfg.sentinels, 0) }, (_, i) => cfg.sentinel.port + i);
}

/** `count` ports from `base` (Docker: one per process) or `base` alone (Kubernetes: one per pod). */
function perProcess(cfg: StackConfig, base: number, count: number): number[] {
    if (cfg.target === "kubernetes") return [base];
    return Array.from({ length: Math.max(count, 0) }, (_, i) => base + i);
}

/** Tile38 metrics ports, if metrics are on. */
export function metricsPorts(cfg: StackConfig): number[] {
    return cfg.metrics.enabled ? perProcess(cfg, cfg.tile38.metricsPort, cfg.replicas) : [];
}

/** The sentinels' exporter ports, if metrics are on. */
export function sentinelExporterPorts(cfg: StackConfig): number[] {
    return cfg.metrics.enabled ? perProcess(cfg, cfg.metrics.sentinelExporterPort, cfg.sentinels) : [];
}

/** The backup agents' metrics ports, if metrics and backups are on. */
export function backupMetricsPorts(cfg: StackConfig): number[] {
    return cfg.metrics.enabled && cfg.backup.enabled ? perProcess(cfg, cfg.metrics.backupPort, cfg.replicas) : [];
}

/**
 * An image reference pinned to an exact version: `repo:tag` with a tag that carries a digit
 * and is not a moving alias, and/or `@sha256:<64 hex>`.
 */
export function isPinnedImage(image: string): boolean {
    const digest = /@sha256:[0-9a-f]{64}$/.test(image);
    const withoutDigest = image.replace(/@sha256:[0-9a-f]{64}$/, "");
    const lastSlash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.indexOf(":", lastSlash + 1);
    if (colon < 0) return digest;
    const tag = withoutDigest.slice(colon + 1);
    const moving = /^(latest|stable|edge|main|master|alpine|bookworm|nightly|dev)$/i.test(tag);
    const exactVersion = /\d+\.\d+(\.\d+)?/.test(tag) || /^RELEASE\./.test(tag);
    return digest || (!moving && exactVersion);
}

function versionOf(image: string): number[] | undefined {
    const m = /:v?(\d+)\.(\d+)\.(\d+)/.exec(image);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function below(v: number[], min: number[]): boolean {
    for (let i = 0; i < 3; i++) {
        if (v[i] !== min[i]) return v[i] < min[i];
    }
    return false;
}

/** The fields the description marks `positive`, with their values, as `section.field` keys. */
function positiveFields(cfg: StackConfig): [string, number][] {
    return Object.entries(SECTION_FIELDS).flatMap(([section, fields]) =>
        Object.entries(fields as Record<string, Field>)
            .filter(([, field]) => field.positive)
            .map(([name]): [string, number] => [`${section}.${name}`, (cfg[section as keyof typeof SECTION_FIELDS] as unknown as Record<string, number>)[name]]),
    );
}

/**
 * Checks a complete config and returns every problem at once (an empty list means valid).
 * Pure: no Pulumi, no I/O.
 */
export function validateConfig(cfg: StackConfig, secretsSet: ReadonlySet<SecretKey> = new Set()): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const add = (key: string, message: string, fix: string) => issues.push({ key: key.startsWith(NS) ? key : `${NS}:${key}`, message, fix });

    if (cfg.target !== "docker" && cfg.target !== "kubernetes") {
        add("target", `unknown target ${JSON.stringify(cfg.target)}`, "set it to docker or kubernetes");
    }
    if (!Number.isInteger(cfg.replicas) || cfg.replicas < 1) {
        add("replicas", `must be at least 1 (got ${cfg.replicas})`, "set tile38-ha:replicas to 1 or more (3 for high availability)");
    }
    const s = cfg.sentinels;
    if (!Number.isInteger(s) || s < 1) {
        add("sentinels", `must be at least 1 (got ${s})`, "set tile38-ha:sentinels to an odd number such as 3");
    } else if (s % 2 === 0) {
        add("sentinels", `is even (${s}): an even count adds no failure tolerance and can split votes`, `use ${s + 1} or ${s - 1} sentinels`);
    }
    const majority = Math.floor(s / 2) + 1;
    if (cfg.quorum > s) {
        add("quorum", `${cfg.quorum} is above the number of sentinels (${s}): no failover could ever be agreed`, `set tile38-ha:quorum between ${majority} and ${s}`);
    } else if (cfg.quorum < majority) {
        add("quorum", `${cfg.quorum} is below a majority of ${s} sentinels (${majority}): a minority could declare the leader down`, `set tile38-ha:quorum between ${majority} and ${s}`);
    }
    if (!/^[A-Za-z0-9._-]+$/.test(cfg.masterName)) {
        add("masterName", `${JSON.stringify(cfg.masterName)} has characters Sentinel config cannot hold`, "use letters, digits, dot, dash or underscore");
    }

    for (const [key, v] of positiveFields(cfg)) {
        if (!(v > 0)) add(key, `must be positive (got ${v})`, "use a value above 0");
    }
    if (cfg.sentinel.failoverTimeoutMilliseconds <= cfg.sentinel.downAfterMilliseconds) {
        add(
            "sentinel.failoverTimeoutMilliseconds",
            `${cfg.sentinel.failoverTimeoutMilliseconds} ms is not above downAfterMilliseconds (${cfg.sentinel.downAfterMilliseconds} ms)`,
            "make failoverTimeoutMilliseconds larger than downAfterMilliseconds (e.g. 6x)",
        );
    }
    const fence = cfg.tile38.fenceAfterMilliseconds;
    if (fence !== undefined && (!Number.isInteger(fence) || fence < 1000 || fence > cfg.sentinel.downAfterMilliseconds)) {
        add(
            "tile38.fenceAfterMilliseconds",
            `${fence} ms is outside 1000..${cfg.sentinel.downAfterMilliseconds} (sentinel.downAfterMilliseconds)`,
            "a leader must fence itself no later than the other side can promote a follower, and not on a 1 s hiccup: leave it unset (down-after − 1000) or pick a value in that range",
        );
    }
    const ratio = cfg.tile38.aofCompactionRatio;
    if (ratio !== 0 && !(ratio >= 2)) {
        add("tile38.aofCompactionRatio", `must be 0 (off) or at least 2 (got ${ratio})`, "a ratio below 2 compacts again almost at once: use 2 or more, or 0 to turn compaction off");
    }
    const minMb = cfg.tile38.aofCompactionMinMegabytes;
    if (!(minMb >= 1 && minMb <= 1048576)) {
        add("tile38.aofCompactionMinMegabytes", `must be from 1 to 1048576 (got ${minMb})`, "use 64");
    }
    if (cfg.tile38.replicaPriority < 1) {
        add("tile38.replicaPriority", `must be at least 1 (got ${cfg.tile38.replicaPriority}); 0 would make every node ineligible`, "use 100");
    }

    // Ports: each in range, no two alike across every process of the stack.
    const owners = new Map<number, string>();
    const claim = (port: number, who: string, key: string) => {
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
            add(key, `port ${port} of ${who} is out of range`, "use a port from 1 to 65535");
            return;
        }
        const other = owners.get(port);
        if (other) add(key, `port ${port} of ${who} is already used by ${other}`, "give every process its own port");
        else owners.set(port, who);
    };
    if (cfg.target === "docker" && cfg.tile38.ports && cfg.tile38.ports.length !== cfg.replicas) {
        add("tile38.ports", `lists ${cfg.tile38.ports.length} ports for ${cfg.replicas} replicas`, "give exactly one port per replica or drop it to use port + i");
    }
    if (cfg.target === "docker" && cfg.sentinel.ports && cfg.sentinel.ports.length !== cfg.sentinels) {
        add("sentinel.ports", `lists ${cfg.sentinel.ports.length} ports for ${cfg.sentinels} sentinels`, "give exactly one port per sentinel or drop it to use port + i");
    }
    tile38Ports(cfg).forEach((p, i) => claim(p, `Tile38 node ${i + 1}`, cfg.tile38.ports ? "tile38.ports" : "tile38.port"));
    sentinelPorts(cfg).forEach((p, i) => claim(p, `sentinel ${i + 1}`, cfg.sentinel.ports ? "sentinel.ports" : "sentinel.port"));
    metricsPorts(cfg).forEach((p, i) => claim(p, `metrics of Tile38 node ${i + 1}`, "tile38.metricsPort"));
    sentinelExporterPorts(cfg).forEach((p, i) => claim(p, `the exporter of sentinel ${i + 1}`, "metrics.sentinelExporterPort"));
    backupMetricsPorts(cfg).forEach((p, i) => claim(p, `metrics of backup agent ${i + 1}`, "metrics.backupPort"));
    if (cfg.target === "docker" && cfg.backup.enabled && cfg.backup.store === "local") {
        claim(cfg.backup.localPort, "the local S3 server", "backup.localPort");
    }

    // Images: exact versions only; Tile38 ≥ 1.33.3 (slave_repl_offset) and Sentinel ≥ 7.0.8.
    const images: [string, string][] = [
        ["tile38.image", cfg.tile38.image],
        ["sentinel.image", cfg.sentinel.image],
    ];
    if (cfg.backup.enabled) images.push(["backup.agentImage", cfg.backup.agentImage]);
    if (cfg.metrics.enabled) images.push(["metrics.sentinelExporterImage", cfg.metrics.sentinelExporterImage]);
    if (cfg.target === "docker" && cfg.backup.enabled && cfg.backup.store === "local") images.push(["backup.localImage", cfg.backup.localImage]);
    for (const [key, image] of images) {
        if (!isPinnedImage(image)) {
            add(key, `image ${JSON.stringify(image)} has no exact version`, "pin an exact version tag (e.g. tile38/tile38:1.37.0) or a @sha256 digest, never latest");
        }
    }
    const t38 = versionOf(cfg.tile38.image);
    if (t38 && below(t38, [1, 33, 3])) {
        add("tile38.image", `Tile38 ${t38.join(".")} is older than 1.33.3, which Sentinel needs (slave_repl_offset)`, "use tile38/tile38:1.37.0");
    }
    const sv = versionOf(cfg.sentinel.image);
    const sentinelRepo = cfg.sentinel.image.replace(/[:@].*$/, "").split("/").pop();
    if (sv && sentinelRepo === "redis" && below(sv, [7, 0, 8])) {
        add("sentinel.image", `Redis Sentinel ${sv.join(".")} is older than 7.0.8 and fails over wrongly with hostnames (redis #9103, #11639)`, "use redis:7.2.12-alpine");
    }

    if (cfg.target === "docker") {
        if (cfg.docker.hostOs !== "linux") {
            add(
                "docker.hostOs",
                `the Docker target needs a Linux Docker engine, this one runs on ${cfg.docker.hostOs}`,
                "host networking only works on Linux: Docker Desktop for Mac and Windows runs containers in a VM, so --network host binds inside that VM and the ports are unreachable. Deploy from a Linux host or use target kubernetes",
            );
        }
        for (const [key, v] of [["docker.advertiseHost", cfg.docker.advertiseHost], ["docker.bindAddress", cfg.docker.bindAddress]] as const) {
            if (!/^[A-Za-z0-9.:-]+$/.test(v)) add(key, `${JSON.stringify(v)} is not a host name or address`, "use an address such as 127.0.0.1");
        }
    }
    if (cfg.target === "kubernetes") {
        if (cfg.tile38.ports) add("tile38.ports", "is for the Docker target only", "use tile38.port: every pod listens on the same port");
        if (cfg.sentinel.ports) add("sentinel.ports", "is for the Docker target only", "use sentinel.port: every pod listens on the same port");
        if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(cfg.kubernetes.namespace)) {
            add("kubernetes.namespace", `${JSON.stringify(cfg.kubernetes.namespace)} is not a valid namespace name`, "use lower-case letters, digits and dashes");
        }
        if (cfg.backup.enabled && cfg.backup.store === "local") {
            add("backup.store", "local is for the Docker target only", "use aws (optionally with backup.endpoint for an S3-compatible store)");
        }
        issues.push(...validateKubernetesSyntax(cfg).map((i) => ({ ...i, key: `${NS}:${i.key}` })));
        for (const key of ["podMonitor", "prometheusRule"] as const) {
            if (cfg.metrics[key] && !cfg.metrics.enabled) add(`metrics.${key}`, "is on while metrics.enabled is false: nothing would serve what it needs", `turn metrics.enabled on, or ${key} off`);
        }
    } else {
        for (const key of ["podMonitor", "prometheusRule"] as const) {
            if (cfg.metrics[key]) add(`metrics.${key}`, "is for the Kubernetes target only (a Prometheus Operator object)", `leave metrics.${key} off and scrape the ports of the Docker target directly`);
        }
    }
    if (cfg.tile38.maxMemory !== undefined && !/^\d+(kb|mb|gb)?$/i.test(cfg.tile38.maxMemory)) {
        add("tile38.maxMemory", `${JSON.stringify(cfg.tile38.maxMemory)} is not a size Tile38 understands`, 'use e.g. "512mb" or "2gb"');
    }
    // Backup credentials: a pair or nothing; a store outside AWS has no role to fall back on.
    const hasKeyId = secretsSet.has("backupAccessKeyId");
    const hasSecretKey = secretsSet.has("backupSecretAccessKey");
    if (hasKeyId !== hasSecretKey) {
        const missing = hasKeyId ? "backupSecretAccessKey" : "backupAccessKeyId";
        add(missing, "is missing: the backup credentials come as a pair", `set it with pulumi config set --secret tile38-ha:${missing} …, or remove the other one`);
    }
    if (cfg.backup.enabled && cfg.backup.store === "aws" && cfg.backup.endpoint && !(hasKeyId && hasSecretKey)) {
        add(
            "backup.endpoint",
            `the S3-compatible store ${cfg.backup.endpoint} needs static credentials (no AWS role can sign for it)`,
            "set tile38-ha:backupAccessKeyId and tile38-ha:backupSecretAccessKey with pulumi config set --secret",
        );
    }
    if (cfg.backup.endpoint !== undefined && !/^https?:\/\/[^\s/]+(\/.*)?$/.test(cfg.backup.endpoint)) {
        add("backup.endpoint", `${JSON.stringify(cfg.backup.endpoint)} is not an http(s) URL`, "use e.g. https://s3.example.com");
    }
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(cfg.backup.existingBucket ?? cfg.backup.bucketPrefix.padEnd(3, "x"))) {
        add(
            cfg.backup.existingBucket ? "backup.existingBucket" : "backup.bucketPrefix",
            `${JSON.stringify(cfg.backup.existingBucket ?? cfg.backup.bucketPrefix)} is not a valid S3 bucket name`,
            "use 3-63 lower-case letters, digits, dots and dashes",
        );
    }
    if (cfg.backup.store === "aws" && !cfg.backup.existingBucket && cfg.backup.bucketPrefix.length > 37) {
        add("backup.bucketPrefix", `is ${cfg.backup.bucketPrefix.length} characters; AWS allows 37 before its random suffix`, "shorten it");
    }
    if (!cfg.backup.keyPrefix.endsWith("/") || cfg.backup.keyPrefix.startsWith("/")) {
        add("backup.keyPrefix", `${JSON.stringify(cfg.backup.keyPrefix)} must end with / and not start with /`, 'use e.g. "tile38/dev/"');
    }
    return issues;
}
