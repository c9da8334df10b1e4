/** `npm run synth -- <stack>` as a user runs it: a subprocess reading a stack file. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "../..");
function synth(stack: string) {
    return spawnSync("npx", ["ts-node", "--transpile-only", "scripts/synth.ts", stack], { cwd: root, encoding: "utf8", timeout: 60000 });
}

describe("npm run synth", () => {
    it("lists three Tile38 and three sentinel containers for dev, host networking, pinned images, secrets masked", () => {
        const run = synth("dev");
        expect(run.status).toBe(0);
        const resources = JSON.parse(run.stdout) as { type: string; name: string; inputs: Record<string, any> }[];
        const containers = resources.filter((r) => r.type === "docker:index/container:Container");
        const role = (c: { inputs: Record<string, any> }) => (c.inputs.labels as { label: string; value: string }[]).find((l) => l.label === "tile38-ha.role")!.value;
        const byRole = (r: string) => containers.filter((c) => role(c) === r).map((c) => c.inputs.name).sort();
        expect(byRole("tile38")).toEqual(["tile38-ha-dev-tile38-1", "tile38-ha-dev-tile38-2", "tile38-ha-dev-tile38-3"]);
        expect(byRole("sentinel")).toEqual(["tile38-ha-dev-sentinel-1", "tile38-ha-dev-sentinel-2", "tile38-ha-dev-sentinel-3"]);
        // Backups are on by default: the local S3 server and one agent per node.
        expect(byRole("local-s3")).toEqual(["tile38-ha-dev-s3"]);
        expect(byRole("backup-agent")).toEqual(["tile38-ha-dev-tile38-1-backup", "tile38-ha-dev-tile38-2-backup", "tile38-ha-dev-tile38-3-backup"]);
        // Metrics are on by default: one redis_exporter per sentinel, at the sentinel's address.
        expect(byRole("sentinel-exporter")).toEqual(["tile38-ha-dev-sentinel-1-exporter", "tile38-ha-dev-sentinel-2-exporter", "tile38-ha-dev-sentinel-3-exporter"]);
        expect(containers.filter((c) => role(c) === "sentinel-exporter").map((c) => c.inputs.command).sort()).toEqual(
            [0, 1, 2].map((i) => [`--redis.addr=redis://127.0.0.1:${5000 + i}`, `--web.listen-address=127.0.0.1:${9121 + i}`]),
        );
        // The live password switch: a one-shot job container, run before any replacement.
        expect(byRole("password-switch")).toEqual(["tile38-ha-dev-password-switch"]);
        expect(containers).toHaveLength(14);
        expect(containers.every((c) => c.inputs.networkMode === "host")).toBe(true);
        expect(containers.every((c) => c.inputs.envs === "[secret]")).toBe(true);
        const ports = containers
            .filter((c) => role(c) === "tile38" || role(c) === "sentinel")
            .map((c) => (c.inputs.entrypoints as string[]).find((e) => /^(NODE_PORT|SELF)=/.test(e)))
            .sort();
        expect(ports).toEqual(["NODE_PORT=9851", "NODE_PORT=9852", "NODE_PORT=9853", "SELF=127.0.0.1:5000", "SELF=127.0.0.1:5001", "SELF=127.0.0.1:5002"]);
        const images = resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage").map((r) => r.inputs.name);
        expect(images.sort()).toEqual(["amazon/aws-cli:2.9.19", "oliver006/redis_exporter:v1.74.0", "redis:7.2.12-alpine", "tile38/tile38:1.37.0", "versity/versitygw:v1.8.0"]);
        // No secret in plain text anywhere: the generated S3 keys and passwords are masked.
        expect(run.stdout).not.toMatch(/generated-password|ROOT_SECRET_KEY=|AWS_SECRET_ACCESS_KEY=/);
    }, 60000);

    it("refuses a stack with quorum 7, naming quorum on stderr", () => {
        const file = path.join(root, "Pulumi.badquorum.yaml");
        fs.writeFileSync(file, fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8").replace('tile38-ha:quorum: "2"', 'tile38-ha:quorum: "7"'));
        try {
            const run = synth("badquorum");
            expect(run.status).toBe(1);
            expect(run.stdout).toBe("");
            expect(run.stderr).toMatch(/tile38-ha:quorum: 7 is above the number of sentinels/);
        } finally {
            fs.unlinkSync(file);
        }
    }, 60000);

    it("shows the Kubernetes stack: StatefulSets, headless Services, PDBs, policies, probes, spread, names not IPs", () => {
        const run = synth("k8s");
        expect(run.status).toBe(0);
        const resources = JSON.parse(run.stdout) as { type: string; name: string; inputs: Record<string, any> }[];
        const of = (type: string) => resources.filter((r) => r.type === type);
        const sets = of("kubernetes:apps/v1:StatefulSet");
        expect(sets.map((s) => s.inputs.metadata.name).sort()).toEqual(["sentinel", "tile38"]);
        const headless = of("kubernetes:core/v1:Service").filter((s) => s.inputs.spec.clusterIP === "None");
        expect(headless).toHaveLength(2);
        expect(headless.every((s) => s.inputs.spec.publishNotReadyAddresses === true)).toBe(true);
        expect(of("kubernetes:policy/v1:PodDisruptionBudget").map((p) => p.inputs.spec.maxUnavailable)).toEqual([1, 1]);
        expect(of("kubernetes:networking.k8s.io/v1:NetworkPolicy").length).toBeGreaterThanOrEqual(2);
        // The hardened backup bucket (issue 6).
        expect(of("aws:s3/bucket:Bucket").map((b) => b.inputs.forceDestroy)).toEqual([false]);
        expect(of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs).toMatchObject({
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
        expect(of("aws:s3/bucketOwnershipControls:BucketOwnershipControls")[0].inputs.rule.objectOwnership).toBe("BucketOwnerEnforced");
        expect(of("aws:s3/bucketVersioning:BucketVersioning")[0].inputs.versioningConfiguration.status).toBe("Enabled");
        expect(of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[0].inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe("AES256");
        const tlsOnly = JSON.parse(of("aws:s3/bucketPolicy:BucketPolicy")[0].inputs.policy);
        expect(tlsOnly.Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
        const [rule] = of("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0].inputs.rules;
        expect(rule).toMatchObject({ filter: { prefix: "tile38/k8s/" }, expiration: { days: 30 }, noncurrentVersionExpiration: { noncurrentDays: 7 } });
        expect(of("kubernetes:core/v1:ServiceAccount").map((a) => a.inputs.metadata.name).sort()).toEqual(["sentinel", "tile38"]);
        for (const s of sets) {
            const pod = s.inputs.spec.template.spec;
            const main = pod.containers[0];
            expect(main.image).toMatch(/:\d+\.\d+\.\d+/);
            expect(main.readinessProbe).toBeDefined();
            expect(main.livenessProbe).toBeDefined();
            expect(main.resources.requests.cpu).toBeDefined();
            expect(pod.topologySpreadConstraints.map((c: any) => c.topologyKey)).toEqual(
                expect.arrayContaining(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]),
            );
        }
        const configMap = of("kubernetes:core/v1:ConfigMap").find((c) => c.inputs.metadata.name === "tile38-ha-scripts")!.inputs.data as Record<string, string>;
        const template = configMap["sentinel-0.conf"];
        expect(template).toContain("sentinel resolve-hostnames yes");
        expect(template).toContain("sentinel announce-hostnames yes");
        expect(template).toContain("sentinel announce-ip sentinel-0.sentinel-headless.tile38.svc.cluster.local");
        expect(template).toContain("sentinel monitor mymaster tile38-0.tile38-headless.tile38.svc.cluster.local 9851 2");
        // No IPv4 literal anywhere but the scripts' own loopback/wildcard defaults.
        const ipv4 = [...run.stdout.matchAll(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g)].map((m) => m[0]);
        expect(new Set(ipv4)).toEqual(new Set(["0.0.0.0", "127.0.0.1"].filter((ip) => ipv4.includes(ip))));
        // Outside the ConfigMap, only the backup sidecar dials an address: its own pod's Tile38 on
        // loopback (containers of a pod share one network namespace).
        const tile38Set = of("kubernetes:apps/v1:StatefulSet").find((s) => s.inputs.metadata.name === "tile38")!;
        const sidecar = (tile38Set.inputs.spec.template.spec.containers as any[]).find((c) => c.name === "backup-agent");
        expect(sidecar.env.find((e: any) => e.name === "TILE38_HOST").value).toBe("127.0.0.1");
        const withoutSidecar = resources.map((r) =>
            r === tile38Set
                ? { ...r, inputs: { ...r.inputs, spec: { ...r.inputs.spec, template: { ...r.inputs.spec.template, spec: { ...r.inputs.spec.template.spec, containers: r.inputs.spec.template.spec.containers.filter((c: any) => c !== sidecar) } } } } }
                : r,
        );
        const outsideConfigMap = JSON.stringify(withoutSidecar.filter((r) => r.type !== "kubernetes:core/v1:ConfigMap"));
        expect(outsideConfigMap).not.toMatch(/\b\d{1,3}(?:\.\d{1,3}){3}\b/);
    }, 60000);
});
