import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { objectMeta, objectNames } from "./common";

/**
 * The Tile38 pods' ServiceAccount. Its annotations come from `kubernetes.serviceAccountAnnotations`
 * plus `extraAnnotations` (e.g. `eks.amazonaws.com/role-arn` from the backup role: IRSA).
 * No API token is mounted: the pods never talk to the Kubernetes API (IRSA injects its own
 * projected web-identity token regardless).
 */
export function buildServiceAccountSpec(cfg: StackConfig, extraAnnotations: Record<string, pulumi.Input<string>> = {}): k8s.core.v1.ServiceAccountArgs {
    const annotations = { ...cfg.kubernetes.serviceAccountAnnotations, ...extraAnnotations };
    return {
        // No empty `annotations: {}`: the API server stores an empty map as absent, so the object
        // it keeps would differ from the one sent (found by `npm run validate:k8s`).
        metadata: { ...objectMeta(objectNames(cfg).serviceAccount, cfg, "tile38"), ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
        automountServiceAccountToken: false,
    };
}

/** Arguments of {@link Tile38ServiceAccount}. */
export interface Tile38ServiceAccountArgs {
    /** The complete stack config (namespace, `kubernetes.serviceAccountAnnotations`). */
    config: StackConfig;
    /**
     * Annotations added to those from the config, winning on conflicts, e.g.
     * `{ "eks.amazonaws.com/role-arn": backupRole.arn }`. Default: none.
     */
    extraAnnotations?: Record<string, pulumi.Input<string>>;
}

/** The ServiceAccount that the Tile38 pods (and backup sidecars) run as. */
export class Tile38ServiceAccount extends pulumi.ComponentResource {
    /** The ServiceAccount (name {@link objectNames(cfg).serviceAccount}). */
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    /** Its name, for IAM trust policies (`system:serviceaccount:<ns>:<name>`). */
    readonly name: pulumi.Output<string>;

    constructor(name: string, args: Tile38ServiceAccountArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:Tile38ServiceAccount", name, {}, opts);
        this.serviceAccount = new k8s.core.v1.ServiceAccount(name, buildServiceAccountSpec(args.config, args.extraAnnotations), { parent: this });
        this.name = this.serviceAccount.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
