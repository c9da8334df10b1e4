/**
 * The defaults come from the one description (config/schema.ts): constants as declared, the
 * computed ones from the stack, target, platform and component, and never shared between configs.
 */
import { defaultConfig, DEFAULT_IMAGES } from "../../../config/defaults";
import { Field } from "../../../config/field";
import { SECTION_FIELDS } from "../../../config/schema";

describe("defaultConfig", () => {
    it("fills every field that declares a default and leaves the others unset", () => {
        const cfg = defaultConfig("dev", "kubernetes", "linux") as unknown as Record<string, Record<string, unknown>>;
        for (const [section, fields] of Object.entries(SECTION_FIELDS)) {
            for (const [name, field] of Object.entries(fields as Record<string, Field>)) {
                expect([`${section}.${name}`, name in cfg[section]]).toEqual([`${section}.${name}`, field.default !== undefined]);
            }
        }
    });

    it("has the shipped values", () => {
        const cfg = defaultConfig("dev", "docker", "linux");
        expect(cfg).toMatchObject({ target: "docker", replicas: 3, sentinels: 3, quorum: 2, masterName: "mymaster" });
        expect(cfg.tile38).toEqual({ image: DEFAULT_IMAGES.tile38, port: 9851, aofCompactionRatio: 2, aofCompactionMinMegabytes: 64, replicaPriority: 100, startupTimeoutSeconds: 60, metricsPort: 4321 });
        expect(cfg.sentinel).toEqual({ image: DEFAULT_IMAGES.sentinel, port: 5000, downAfterMilliseconds: 3000, parallelSyncs: 1, failoverTimeoutMilliseconds: 18000 });
        expect(cfg.kubernetes.sentinelResources).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "1", memory: "128Mi" } });
        expect(cfg.metrics.scraperNamespaceLabels).toEqual({ "kubernetes.io/metadata.name": "monitoring" });
    });

    it("computes names from the stack, or from the component in a program", () => {
        const stack = defaultConfig("dev", "docker", "linux");
        expect([stack.docker.namePrefix, stack.kubernetes.namePrefix, stack.backup.bucketPrefix, stack.backup.keyPrefix]).toEqual(["tile38-ha-dev", "", "tile38-ha-dev-backups", "tile38/dev/"]);
        expect(stack.backup.tags).toEqual({ project: "tile38-ha", stack: "dev" });
        const component = defaultConfig("dev", "docker", "linux", "geo");
        expect([component.docker.namePrefix, component.kubernetes.namePrefix, component.backup.bucketPrefix, component.backup.keyPrefix]).toEqual(["geo", "geo-", "geo-backups", "tile38/dev/geo/"]);
        expect(component.backup.tags).toEqual({ project: "tile38-ha", stack: "dev", component: "geo" });
    });

    it("picks the store by target and the Docker host OS by platform", () => {
        expect(defaultConfig("dev", "docker", "linux").backup.store).toBe("local");
        expect(defaultConfig("dev", "kubernetes", "linux").backup.store).toBe("aws");
        expect(["linux", "darwin", "win32", "freebsd"].map((p) => defaultConfig("dev", "docker", p).docker.hostOs)).toEqual(["linux", "darwin", "windows", "linux"]);
    });

    it("gives every config its own maps and lists", () => {
        const a = defaultConfig("dev", "kubernetes", "linux");
        const b = defaultConfig("dev", "kubernetes", "linux");
        a.kubernetes.labels.team = "geo";
        a.kubernetes.tolerations.push({ key: "x" });
        a.kubernetes.tile38Resources.limits.cpu = "2";
        expect([b.kubernetes.labels, b.kubernetes.tolerations, b.kubernetes.tile38Resources.limits.cpu]).toEqual([{}, [], "1"]);
    });
});
