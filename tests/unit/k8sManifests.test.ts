/** The pure parts of the Kubernetes API checks: manifest order and the stored-versus-sent comparison. */
import { kubernetesManifests, quantityValue, storedDifferences } from "../../testing/fixtures/kube/k8sManifests";
import type { KubeObject } from "../../testing/fixtures/kube/kubeClient";
import { podFromStatefulSet } from "../../testing/fixtures/kube/k8sValidation";

const none = { replaceOnChanges: [], deleteBeforeReplace: false };
const obj = (kind: string, name: string, extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: "v1", kind, metadata: { name, namespace: "ns" }, ...extra });

describe("kubernetesManifests", () => {
    it("keeps Kubernetes objects only, namespace and accounts first, otherwise in program order, without null/undefined", () => {
        const r = (type: string, inputs: Record<string, unknown>) => ({ type, name: `r-${String((inputs.metadata as { name: string }).name)}`, inputs, options: none });
        const out = kubernetesManifests([
            r("kubernetes:apps/v1:StatefulSet", { ...obj("StatefulSet", "a"), apiVersion: "apps/v1", spec: { replicas: 3, x: undefined, y: null } }),
            r("kubernetes:core/v1:Service", obj("Service", "b")),
            r("kubernetes:core/v1:ServiceAccount", obj("ServiceAccount", "c")),
            r("kubernetes:core/v1:Namespace", { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns" } }),
            r("aws:s3/bucket:Bucket", { metadata: { name: "nope" } }),
            { type: "pulumi:providers:kubernetes", name: "p", inputs: {}, options: none },
        ]);
        expect(out.map((m) => m.object.kind)).toEqual(["Namespace", "ServiceAccount", "StatefulSet", "Service"]);
        expect(out[2].object.spec).toEqual({ replicas: 3 });
    });

    it("refuses an object without a name", () => {
        expect(() => kubernetesManifests([{ type: "kubernetes:core/v1:ConfigMap", name: "x", inputs: { apiVersion: "v1", kind: "ConfigMap", metadata: {} }, options: none }])).toThrow(/metadata.name/);
    });
});

describe("storedDifferences", () => {
    it("ignores what the server adds, reports what it dropped or changed", () => {
        const sent = obj("Service", "s", { spec: { ports: [{ port: 1, name: "a" }], selector: { a: "b" }, publishNotReadyAddresses: true } });
        const stored = obj("Service", "s", { spec: { ports: [{ port: 1, name: "a", protocol: "TCP" }], selector: { a: "b" }, clusterIP: "10.0.0.1" }, status: {} });
        expect(storedDifferences(sent, stored)).toEqual([{ path: "spec.publishNotReadyAddresses", sent: true, stored: undefined }]);
        expect(storedDifferences(obj("ServiceAccount", "x", { metadata: { name: "x", annotations: {} } }), obj("ServiceAccount", "x"))).toEqual([{ path: "metadata.annotations", sent: {}, stored: undefined }]);
        const list = storedDifferences(obj("C", "c", { a: [1, 2] }), obj("C", "c", { a: [1] }));
        expect(list).toEqual([{ path: "a", sent: [1, 2], stored: [1] }]);
    });

    it("treats equal quantities as equal (the server stores them canonically) and compares stringData with data", () => {
        const sent = obj("Pod", "p", { spec: { resources: { limits: { cpu: "0.5", memory: "1024Mi" } } } });
        const stored = obj("Pod", "p", { spec: { resources: { limits: { cpu: "500m", memory: "1Gi" } } } });
        expect(storedDifferences(sent, stored)).toEqual([]);
        const secret = obj("Secret", "s", { stringData: { a: "x", b: "y" } });
        expect(storedDifferences(secret, obj("Secret", "s", { data: { a: Buffer.from("x").toString("base64") } }))).toEqual([{ path: "stringData.b", sent: "y", stored: undefined }]);
    });

    it("parses quantities", () => {
        expect(quantityValue("250m")).toBeCloseTo(0.25);
        expect(quantityValue("2Gi")).toBe(2 * 2 ** 30);
        expect(quantityValue("1e3")).toBe(1000);
        expect(quantityValue("1k")).toBe(1000);
        expect(quantityValue("ten")).toBeUndefined();
    });
});

describe("podFromStatefulSet", () => {
    it("is the template with the pod's name, hostname and one PVC volume per claim template", () => {
        const sts: KubeObject = {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "tile38", namespace: "geo" },
            spec: {
                serviceName: "tile38-headless",
                template: { metadata: { labels: { a: "b" } }, spec: { containers: [], volumes: [{ name: "tmp", emptyDir: {} }] } },
                volumeClaimTemplates: [{ metadata: { name: "data" } }],
            },
        };
        const pod = podFromStatefulSet(sts, 2) as any;
        expect(pod.metadata).toEqual({ labels: { a: "b" }, name: "tile38-2", namespace: "geo" });
        expect(pod.spec.hostname).toBe("tile38-2");
        expect(pod.spec.subdomain).toBe("tile38-headless");
        expect(pod.spec.volumes).toEqual([{ name: "tmp", emptyDir: {} }, { name: "data", persistentVolumeClaim: { claimName: "data-tile38-2" } }]);
    });
});
