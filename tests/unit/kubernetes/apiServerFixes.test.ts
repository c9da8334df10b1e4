/**
 * What the real kube-apiserver exposed (`npm run validate:k8s`, tests/integration/kubeApiServer.test.ts),
 * pinned down as unit tests of the pure builders and of the components under Pulumi mocks.
 */
import { kubernetesTopology } from "../../../components/render/topology";
import {
    buildSentinelServiceAccountSpec,
    buildSentinelStatefulSetSpec,
    buildServiceAccountSpec,
    OBJECT_NAMES,
    STATEFULSET_IMMUTABLE_PATHS,
    STATEFULSET_MUTABLE_SPEC_FIELDS,
    statefulSetReplacementOptions,
} from "../../../components/kubernetes";
import { kubernetesManifests } from "../../../testing/fixtures/kube/k8sManifests";
import { synthesizeInChild } from "../../../testing/synthesize";
import { readStackFile } from "../../../testing/stackFile";
import { k8sStackConfig, ROOT, withConfig } from "../../../testing/unitKubernetesConfig";
import * as path from "path";

type Any = any;
const cfg = k8sStackConfig();

describe("ServiceAccounts", () => {
    it("sends no empty annotations map (the server stores {} as absent)", () => {
        const sa = buildServiceAccountSpec(cfg) as Any;
        expect(sa.metadata).not.toHaveProperty("annotations");
        const annotated = buildServiceAccountSpec(withConfig((c) => (c.kubernetes.serviceAccountAnnotations = { team: "geo" }))) as Any;
        expect(annotated.metadata.annotations).toEqual({ team: "geo" });
        expect((buildServiceAccountSpec(cfg, { "eks.amazonaws.com/role-arn": "arn:x" }) as Any).metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": "arn:x" });
    });

    it("gives the sentinel pods their own account without a token instead of the namespace's default", () => {
        const sa = buildSentinelServiceAccountSpec(cfg) as Any;
        expect(sa.metadata).toMatchObject({ name: OBJECT_NAMES.sentinelServiceAccount, namespace: "tile38" });
        expect(sa.metadata).not.toHaveProperty("annotations");
        expect(sa.automountServiceAccountToken).toBe(false);
        const pod = (buildSentinelStatefulSetSpec(cfg, kubernetesTopology(cfg), { configHash: "h" }) as Any).spec.template.spec;
        expect(pod.serviceAccountName).toBe("sentinel");
        expect(pod.automountServiceAccountToken).toBe(false);
    });
});

describe("StatefulSet fields the API server refuses to update in place", () => {
    it("replace (delete first: the name is fixed) on every immutable path, never on the mutable ones", () => {
        expect(statefulSetReplacementOptions()).toEqual({ replaceOnChanges: [...STATEFULSET_IMMUTABLE_PATHS], deleteBeforeReplace: true });
        expect(STATEFULSET_IMMUTABLE_PATHS).toContain("spec.volumeClaimTemplates");
        for (const p of STATEFULSET_IMMUTABLE_PATHS) expect(STATEFULSET_MUTABLE_SPEC_FIELDS as readonly string[]).not.toContain(p.replace(/^spec\./, ""));
    });

    it("every spec field the components set is either updatable in place or covered by replaceOnChanges", () => {
        const covered = new Set([...STATEFULSET_MUTABLE_SPEC_FIELDS, ...STATEFULSET_IMMUTABLE_PATHS.map((p) => p.replace(/^spec\./, ""))]);
        const sts = buildSentinelStatefulSetSpec(cfg, kubernetesTopology(cfg), { configHash: "h" }) as Any;
        for (const field of Object.keys(sts.spec)) expect([field, covered.has(field)]).toEqual([field, true]);
    });

    it("both StatefulSets of the program carry those options (as Pulumi sends them)", async () => {
        const { values, secretKeys } = readStackFile(path.join(ROOT, "Pulumi.k8s.yaml"));
        const result = await synthesizeInChild({ stack: "k8s", values, secretKeys });
        if (!result.ok) throw new Error(result.error);
        const sets = kubernetesManifests(result.resources).filter((m) => m.object.kind === "StatefulSet");
        expect(sets.map((s) => s.object.metadata.name).sort()).toEqual(["sentinel", "tile38"]);
        for (const s of sets) expect(s.options).toEqual({ replaceOnChanges: [...STATEFULSET_IMMUTABLE_PATHS], deleteBeforeReplace: true });
        // Nothing else is replaced on purpose.
        for (const m of kubernetesManifests(result.resources).filter((x) => x.object.kind !== "StatefulSet")) expect(m.options.replaceOnChanges).toEqual([]);
    }, 90_000);
});
