import * as pulumi from "@pulumi/pulumi";

/**
 * The StatefulSet `spec` fields the API server updates in place (Kubernetes 1.32: "updates to
 * statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy',
 * 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden").
 */
export const STATEFULSET_MUTABLE_SPEC_FIELDS = ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"] as const;

/**
 * The StatefulSet fields the components set that the API server refuses to change in place
 * (proven against a real kube-apiserver in tests/integration/kubeApiServer.test.ts). Config that
 * feeds them: `kubernetes.storageSize`, `kubernetes.sentinelStorageSize` and
 * `kubernetes.storageClass` (the volumeClaimTemplates); the others are fixed by the components.
 */
export const STATEFULSET_IMMUTABLE_PATHS = ["spec.volumeClaimTemplates", "spec.selector", "spec.serviceName", "spec.podManagementPolicy", "spec.revisionHistoryLimit"] as const;

/**
 * Resource options of both StatefulSets: a change to an immutable field replaces the StatefulSet
 * instead of sending the cluster an update it refuses. The name is fixed (the pods' DNS names
 * contain it), so the old object is deleted first. Deleting a StatefulSet deletes its pods (all
 * of them: a short outage) but not their volume claims (`whenDeleted: Retain`): the new
 * StatefulSet's pods reuse the same claims and data. Existing claims keep their size; see
 * docs/kubernetes.md for growing volumes and for a replacement without an outage.
 */
export function statefulSetReplacementOptions(): Pick<pulumi.CustomResourceOptions, "replaceOnChanges" | "deleteBeforeReplace"> {
    return { replaceOnChanges: [...STATEFULSET_IMMUTABLE_PATHS], deleteBeforeReplace: true };
}
