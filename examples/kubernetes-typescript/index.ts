/**
 * A platform team's program: a Tile38 cluster in a namespace the team already has, on the cluster
 * of its own Kubernetes provider, with its scheduling rules. Runs with no stack config (the
 * ambient kubeconfig, generated passwords, backups off); every setting is optional and typed.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubernetesTile38Cluster } from "tile38-ha";

const config = new pulumi.Config();

// The team's own provider and namespace, as they exist in its program already.
const provider = new k8s.Provider("platform", { kubeconfig: config.get("kubeconfig") });
const namespaceName = config.get("namespace") ?? "geo";
const namespace = new k8s.core.v1.Namespace("geo", { metadata: { name: namespaceName } }, { provider });

const geo = new KubernetesTile38Cluster(
    "geo",
    {
        tile38: { image: config.get("tile38Image") },
        sentinel: { image: config.get("sentinelImage") },
        metrics: { sentinelExporterImage: config.get("sentinelExporterImage") },
        backup: { enabled: false },
        kubernetes: {
            namespace: namespaceName,
            createNamespace: false,
            labels: { team: "geo" },
            tolerations: [{ key: "dedicated", operator: "Equal", value: "geo", effect: "NoSchedule" }],
            storageSize: config.get("storageSize") ?? "10Gi",
            storageClass: config.get("storageClass"),
        },
    },
    { provider, dependsOn: [namespace] },
);

export const connection = geo.connection;
export const tile38Endpoints = geo.tile38Endpoints;
export const sentinelServiceHost = geo.sentinelServiceHost;
