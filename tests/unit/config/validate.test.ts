import { parseStackConfig } from "../../../config/parse";
import { isPinnedImage, formatIssues } from "../../../config/validate";
import { fenceAfterMilliseconds } from "../../../components/render/topology";

const ctx = { stack: "test", platform: "linux" };
const parse = (raw: Record<string, unknown>) => parseStackConfig(raw, ctx);
const keysOf = (raw: Record<string, unknown>) => parse(raw).issues.map((i) => i.key);

describe("stack config defaults", () => {
    it("gives the original setup's values for a docker stack", () => {
        const { config, issues } = parse({ target: "docker" });
        expect(issues).toEqual([]);
        expect(config.replicas).toBe(3);
        expect(config.sentinels).toBe(3);
        expect(config.quorum).toBe(2);
        expect(config.masterName).toBe("mymaster");
        expect(config.tile38.port).toBe(9851);
        expect(config.sentinel).toMatchObject({ port: 5000, downAfterMilliseconds: 3000, parallelSyncs: 1, failoverTimeoutMilliseconds: 18000 });
        expect(config.backup.store).toBe("local");
    });

    it("coerces string numbers and structured sections given as JSON text", () => {
        const { config, issues } = parse({ target: "docker", replicas: "5", quorum: "2", tile38: JSON.stringify({ port: 7000 }) });
        expect(issues).toEqual([]);
        expect(config.replicas).toBe(5);
        expect(config.tile38.port).toBe(7000);
    });

    it("lets the bind address follow the advertised host unless set", () => {
        expect(parse({ target: "docker", docker: { advertiseHost: "10.1.2.3" } }).config.docker.bindAddress).toBe("10.1.2.3");
        expect(parse({ target: "docker", docker: { advertiseHost: "10.1.2.3", bindAddress: "0.0.0.0" } }).config.docker.bindAddress).toBe("0.0.0.0");
    });
});

describe("stack config validation", () => {
    it("refuses quorum 7 with a message naming quorum and the fix", () => {
        const { issues } = parse({ target: "docker", quorum: "7" });
        expect(issues).toHaveLength(1);
        expect(issues[0].key).toBe("tile38-ha:quorum");
        expect(issues[0].message).toMatch(/above the number of sentinels/);
        expect(formatIssues(issues)).toMatch(/tile38-ha:quorum: 7 is above .*Fix: set tile38-ha:quorum between 2 and 3/);
    });

    it("refuses a quorum below a majority", () => {
        expect(parse({ target: "docker", quorum: "1" }).issues[0]).toMatchObject({ key: "tile38-ha:quorum", message: expect.stringMatching(/below a majority/) });
    });

    it("refuses an even sentinel count", () => {
        expect(keysOf({ target: "docker", sentinels: "4", quorum: "3" })).toEqual(["tile38-ha:sentinels"]);
    });

    it("refuses fewer than one replica", () => {
        expect(keysOf({ target: "docker", replicas: "0" })).toContain("tile38-ha:replicas");
    });

    it("refuses duplicate ports across Tile38 and sentinels", () => {
        const issues = parse({ target: "docker", tile38: { ports: [9851, 9852, 5001] } }).issues;
        expect(issues).toHaveLength(1);
        expect(issues[0].key).toBe("tile38-ha:sentinel.port");
        expect(issues[0].message).toMatch(/5001 of sentinel 2 is already used by Tile38 node 3/);
    });

    it("refuses a sentinel exporter port another process of the pod or stack uses", () => {
        const issues = parse({ target: "kubernetes", metrics: { sentinelExporterPort: 5000 } }).issues;
        expect(issues.map((i) => `${i.key}: ${i.message}`)).toEqual(["tile38-ha:metrics.sentinelExporterPort: port 5000 of the exporter of sentinel 1 is already used by sentinel 1"]);
        expect(keysOf({ target: "kubernetes", metrics: { sentinelExporterPort: 70000 } })).toEqual(["tile38-ha:metrics.sentinelExporterPort"]);
        expect(keysOf({ target: "kubernetes", metrics: { backupPort: 4321 } })).toEqual(["tile38-ha:metrics.backupPort"]);
        // Metrics off: the ports are free for anything.
        expect(keysOf({ target: "kubernetes", metrics: { enabled: false, sentinelExporterPort: 5000 } })).toEqual([]);
    });

    it("allows the PodMonitor and PrometheusRule only on Kubernetes and with metrics on", () => {
        expect(keysOf({ target: "kubernetes", metrics: { podMonitor: true, prometheusRule: true } })).toEqual([]);
        expect(keysOf({ target: "kubernetes", metrics: { enabled: false, podMonitor: true, prometheusRule: true } })).toEqual(["tile38-ha:metrics.podMonitor", "tile38-ha:metrics.prometheusRule"]);
        expect(keysOf({ target: "docker", metrics: { podMonitor: true } })).toEqual(["tile38-ha:metrics.podMonitor"]);
    });

    it("refuses out-of-range ports and a ports list of the wrong length", () => {
        expect(keysOf({ target: "docker", sentinel: { port: 65535 } })).toEqual(["tile38-ha:sentinel.port", "tile38-ha:sentinel.port"]);
        expect(keysOf({ target: "docker", tile38: { ports: [9851, 9852] } })).toEqual(["tile38-ha:tile38.ports"]);
    });

    it("refuses non-positive timings and failover-timeout not above down-after", () => {
        expect(keysOf({ target: "docker", sentinel: { downAfterMilliseconds: 0 } })).toEqual(["tile38-ha:sentinel.downAfterMilliseconds"]);
        expect(keysOf({ target: "docker", sentinel: { failoverTimeoutMilliseconds: 3000 } })).toEqual(["tile38-ha:sentinel.failoverTimeoutMilliseconds"]);
        expect(keysOf({ target: "docker", backup: { intervalSeconds: -5 } })).toEqual(["tile38-ha:backup.intervalSeconds"]);
    });

    it("refuses an unknown target, unknown keys and malformed values", () => {
        expect(keysOf({ target: "ecs" })).toEqual(["tile38-ha:target"]);
        expect(keysOf({ target: "docker", replcias: "3" })).toEqual(["tile38-ha:replcias"]);
        expect(keysOf({ target: "docker", tile38: { prot: 1 } })).toEqual(["tile38-ha:tile38.prot"]);
        expect(keysOf({ target: "docker", replicas: "three" })).toEqual(["tile38-ha:replicas"]);
        expect(keysOf({})).toEqual(["tile38-ha:target"]);
    });

    it("refuses images without an exact version, and too old versions", () => {
        expect(keysOf({ target: "docker", tile38: { image: "tile38/tile38:latest" } })).toEqual(["tile38-ha:tile38.image"]);
        expect(keysOf({ target: "docker", tile38: { image: "tile38/tile38" } })).toEqual(["tile38-ha:tile38.image"]);
        expect(keysOf({ target: "docker", tile38: { image: "tile38/tile38:1.32.0" } })).toEqual(["tile38-ha:tile38.image"]);
        expect(keysOf({ target: "docker", sentinel: { image: "redis:6.2.14-alpine" } })).toEqual(["tile38-ha:sentinel.image"]);
        expect(keysOf({ target: "docker", sentinel: { image: "valkey/valkey:8.1.4-alpine" } })).toEqual([]);
    });

    it("refuses the docker target on a non-Linux Docker host and says why", () => {
        const { issues } = parse({ target: "docker", docker: { hostOs: "darwin" } });
        expect(issues).toHaveLength(1);
        expect(issues[0].key).toBe("tile38-ha:docker.hostOs");
        expect(issues[0].fix).toMatch(/host networking only works on Linux/);
        expect(parseStackConfig({ target: "docker" }, { stack: "t", platform: "win32" }).issues[0].key).toBe("tile38-ha:docker.hostOs");
        expect(parseStackConfig({ target: "kubernetes" }, { stack: "t", platform: "darwin" }).issues).toEqual([]);
    });

    it("checks backup settings: pinned agent image, restore timeout, bucket names, endpoints", () => {
        expect(keysOf({ target: "docker", backup: { agentImage: "amazon/aws-cli:latest" } })).toEqual(["tile38-ha:backup.agentImage"]);
        // Images of a disabled feature are not pulled, so they are not checked.
        expect(keysOf({ target: "docker", backup: { enabled: false, agentImage: "amazon/aws-cli", localImage: "versity/versitygw" } })).toEqual([]);
        expect(keysOf({ target: "docker", backup: { restoreTimeoutSeconds: 0 } })).toEqual(["tile38-ha:backup.restoreTimeoutSeconds"]);
        expect(keysOf({ target: "docker", backup: { bucketPrefix: "Tile38_Backups" } })).toEqual(["tile38-ha:backup.bucketPrefix"]);
        expect(keysOf({ target: "kubernetes", backup: { bucketPrefix: "a-very-long-bucket-prefix-beyond-37-chars" } })).toEqual(["tile38-ha:backup.bucketPrefix"]);
        expect(keysOf({ target: "kubernetes", backup: { existingBucket: "my-backups" } })).toEqual([]);
        expect(keysOf({ target: "kubernetes", backup: { endpoint: "s3.example.com" } })).toEqual(["tile38-ha:backup.endpoint", "tile38-ha:backup.endpoint"]);
    });

    it("wants backup credentials as a pair, and for an S3-compatible endpoint", () => {
        const compat = { target: "kubernetes", backup: { endpoint: "https://s3.example.com" } };
        expect(parse(compat).issues).toEqual([
            expect.objectContaining({ key: "tile38-ha:backup.endpoint", message: expect.stringMatching(/needs static credentials/), fix: expect.stringMatching(/backupAccessKeyId/) }),
        ]);
        expect(keysOf({ ...compat, backupAccessKeyId: "(secret)", backupSecretAccessKey: "(secret)" })).toEqual([]);
        expect(keysOf({ target: "docker", backupAccessKeyId: "(secret)" })).toEqual(["tile38-ha:backupSecretAccessKey"]);
        // The local store generates its own keys; AWS proper may use a role.
        expect(keysOf({ target: "docker" })).toEqual([]);
        expect(keysOf({ target: "kubernetes" })).toEqual([]);
    });

    it("bounds the self-fencing time by down-after and by 1 s, and derives its default from down-after", () => {
        expect(keysOf({ target: "docker", tile38: { fenceAfterMilliseconds: 500 } })).toEqual(["tile38-ha:tile38.fenceAfterMilliseconds"]);
        expect(keysOf({ target: "docker", tile38: { fenceAfterMilliseconds: 3001 } })).toEqual(["tile38-ha:tile38.fenceAfterMilliseconds"]);
        expect(keysOf({ target: "docker", tile38: { fenceAfterMilliseconds: 3000 } })).toEqual([]);
        expect(fenceAfterMilliseconds(parse({ target: "docker" }).config)).toBe(2000);
        expect(fenceAfterMilliseconds(parse({ target: "docker", sentinel: { downAfterMilliseconds: 1500, failoverTimeoutMilliseconds: 9000 } }).config)).toBe(1000);
        expect(fenceAfterMilliseconds(parse({ target: "docker", tile38: { fenceAfterMilliseconds: 2500 } }).config)).toBe(2500);
    });

    it("reports every problem at once", () => {
        const keys = keysOf({ target: "docker", quorum: "7", sentinels: "4", replicas: "0", tile38: { image: "tile38/tile38:latest" }, docker: { hostOs: "windows" } });
        expect(keys).toEqual(
            expect.arrayContaining(["tile38-ha:quorum", "tile38-ha:sentinels", "tile38-ha:replicas", "tile38-ha:tile38.image", "tile38-ha:docker.hostOs"]),
        );
    });
});

describe("isPinnedImage", () => {
    it.each([
        ["tile38/tile38:1.37.0", true],
        ["redis:7.2.12-alpine", true],
        ["registry.example.com:5000/tile38/tile38:1.37.0", true],
        [`tile38/tile38@sha256:${"a".repeat(64)}`, true],
        ["tile38/tile38:latest", false],
        ["redis:alpine", false],
        ["registry.example.com:5000/tile38", false],
    ])("%s -> %s", (image, pinned) => expect(isPinnedImage(image)).toBe(pinned));
});

describe("the schema's per-field checks", () => {
    it("refuses every field the schema marks positive at 0, all at once, with the same words", () => {
        const zero = { target: "docker", sentinel: { parallelSyncs: 0 }, tile38: { startupTimeoutSeconds: 0 }, docker: { rolloutTimeoutSeconds: 0 }, backup: { intervalSeconds: 0, expireDays: 0, noncurrentExpireDays: 0, restoreTimeoutSeconds: 0 } };
        const issues = parse(zero).issues;
        expect(issues.map((i) => i.key).sort()).toEqual(
            ["backup.expireDays", "backup.intervalSeconds", "backup.noncurrentExpireDays", "backup.restoreTimeoutSeconds", "docker.rolloutTimeoutSeconds", "sentinel.parallelSyncs", "tile38.startupTimeoutSeconds"].map((k) => `tile38-ha:${k}`),
        );
        for (const i of issues) expect(i).toMatchObject({ message: "must be positive (got 0)", fix: "use a value above 0" });
    });
});
