/**
 * Values the real kube-apiserver refused (`npm run validate:k8s`: "quantities must match the
 * regular expression …", "metadata.annotations: Invalid value: \"bad key\"", requests above
 * limits) are now config errors, reported before `pulumi up`.
 */
import { dnsSubdomainProblem, labelValueProblem, qualifiedNameProblem, quantityValue } from "../../../config/kubernetesSyntax";
import { parseStackConfig } from "../../../config/parse";

const parse = (kubernetes: Record<string, unknown>) => parseStackConfig({ target: "kubernetes", kubernetes }, { stack: "test", platform: "linux" });
const issuesOf = (kubernetes: Record<string, unknown>) => parse(kubernetes).issues.map((i) => `${i.key}: ${i.message}`);
const resources = (requests: Record<string, string>, limits: Record<string, string>) => ({ requests: { cpu: "250m", memory: "512Mi", ...requests }, limits: { cpu: "1", memory: "2Gi", ...limits } });

describe("Kubernetes syntax rules", () => {
    it("parses quantities as the API server does", () => {
        expect(quantityValue("10Gi")).toBe(10 * 2 ** 30);
        expect(quantityValue("250m")).toBeCloseTo(0.25);
        expect(quantityValue("0.5")).toBe(0.5);
        expect(quantityValue("1e3")).toBe(1000);
        for (const bad of ["10GB", "10 Gi", "2gb", "", "Gi", "1.2.3"]) expect([bad, quantityValue(bad)]).toEqual([bad, undefined]);
    });

    it("checks label and annotation keys, label values and DNS subdomains", () => {
        expect(qualifiedNameProblem("tile38-ha/client")).toBeUndefined();
        expect(qualifiedNameProblem("eks.amazonaws.com/role-arn")).toBeUndefined();
        expect(qualifiedNameProblem("tier")).toBeUndefined();
        expect(qualifiedNameProblem("bad key")).toMatch(/name part/);
        expect(qualifiedNameProblem("a/b/c")).toMatch(/more than one/);
        expect(qualifiedNameProblem("Upper.Case/x")).toMatch(/prefix/);
        expect(qualifiedNameProblem(`x/${"a".repeat(64)}`)).toMatch(/63/);
        expect(labelValueProblem("")).toBeUndefined();
        expect(labelValueProblem("true")).toBeUndefined();
        expect(labelValueProblem("yes please")).toBeDefined();
        expect(labelValueProblem("a".repeat(64))).toMatch(/63/);
        expect(dnsSubdomainProblem("gp3")).toBeUndefined();
        expect(dnsSubdomainProblem("ebs.csi.aws.com")).toBeUndefined();
        expect(dnsSubdomainProblem("GP3")).toBeDefined();
    });
});

describe("stack config: what the API server would refuse", () => {
    it("accepts the k8s stack's kind of values", () => {
        expect(issuesOf({ storageSize: "10Gi", sentinelStorageSize: "1Gi", storageClass: "gp3", tile38Resources: resources({ cpu: "0.5" }, {}), clientPodLabels: { "tile38-ha/client": "true" } })).toEqual([]);
    });

    it("refuses storage sizes that are no quantity or not above zero", () => {
        expect(issuesOf({ storageSize: "10GB" })).toEqual(['tile38-ha:kubernetes.storageSize: "10GB" is not a Kubernetes quantity']);
        expect(issuesOf({ sentinelStorageSize: "-1Gi" })).toEqual(['tile38-ha:kubernetes.sentinelStorageSize: "-1Gi" is not above zero: the volume claims would be refused']);
    });

    it("refuses malformed resources and requests above limits", () => {
        expect(issuesOf({ tile38Resources: resources({ memory: "512MB" }, {}) })).toEqual(['tile38-ha:kubernetes.tile38Resources.requests.memory: "512MB" is not a Kubernetes quantity']);
        expect(issuesOf({ sentinelResources: resources({ cpu: "2" }, { cpu: "1" }) })).toEqual([
            "tile38-ha:kubernetes.sentinelResources.requests.cpu: 2 is above the limit 1: the API server refuses such a pod template",
        ]);
    });

    it("refuses bad annotation keys, label keys and values, and StorageClass names", () => {
        expect(issuesOf({ serviceAccountAnnotations: { "bad key": "x" } })).toEqual([expect.stringMatching(/^tile38-ha:kubernetes.serviceAccountAnnotations: annotation key "bad key"/)]);
        expect(issuesOf({ clientPodLabels: { "tile38-ha/client": "yes please" } })).toEqual([expect.stringMatching(/^tile38-ha:kubernetes.clientPodLabels: label value "yes please"/)]);
        expect(issuesOf({ clientPodLabels: { "-bad": "true" } })).toEqual([expect.stringMatching(/label key "-bad"/)]);
        expect(issuesOf({ storageClass: "GP3" })).toEqual([expect.stringMatching(/^tile38-ha:kubernetes.storageClass: "GP3"/)]);
    });

    it("checks the metrics' label maps (scrapers, monitors) like every other label", () => {
        const metricsIssues = (metrics: Record<string, unknown>) =>
            parseStackConfig({ target: "kubernetes", metrics }, { stack: "test", platform: "linux" }).issues.map((i) => `${i.key}: ${i.message}`);
        expect(metricsIssues({ scraperNamespaceLabels: { "kubernetes.io/metadata.name": "observability" }, scraperPodLabels: { "app.kubernetes.io/name": "prometheus" }, monitorLabels: { release: "kube-prometheus" } })).toEqual([]);
        expect(metricsIssues({ scraperNamespaceLabels: { "bad key": "monitoring" } })).toEqual([expect.stringMatching(/^tile38-ha:metrics.scraperNamespaceLabels: label key "bad key"/)]);
        expect(metricsIssues({ scraperPodLabels: { app: "prometheus server" } })).toEqual([expect.stringMatching(/^tile38-ha:metrics.scraperPodLabels: label value "prometheus server"/)]);
        expect(metricsIssues({ monitorLabels: { release: "x".repeat(64) } })).toEqual([expect.stringMatching(/^tile38-ha:metrics.monitorLabels: label value .* is longer than 63/)]);
    });

    it("does not apply to the Docker target", () => {
        expect(parseStackConfig({ target: "docker", kubernetes: { storageSize: "10GB" } }, { stack: "t", platform: "linux" }).issues).toEqual([]);
    });
});
