import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";
import { objectMeta, objectNames } from "./common";

/**
 * The sentinel pods' ServiceAccount: no token mounted and no role bound (the sentinels never talk
 * to the Kubernetes API). Without it they would run as the namespace's `default` account, whose
 * permissions are whatever the namespace grants it, and which exists only once the
 * controller-manager has created it.
 */
export function buildSentinelServiceAccountSpec(cfg: StackConfig): k8s.core.v1.ServiceAccountArgs {
    return {
        metadata: objectMeta(objectNames(cfg).sentinelServiceAccount, cfg, "sentinel"),
        automountServiceAccountToken: false,
    };
}

/** Arguments of {@link SentinelServiceAccount}. */
export interface SentinelServiceAccountArgs {
    /** The complete stack config (namespace). */
    config: StackConfig;
}

/** The ServiceAccount that the sentinel pods run as (name {@link objectNames(cfg).sentinelServiceAccount}). */
export class SentinelServiceAccount extends pulumi.ComponentResource {
    /** The ServiceAccount. */
    readonly serviceAccount: k8s.core.v1.ServiceAccount;
    /** Its name. */
    readonly name: pulumi.Output<string>;

    constructor(name: string, args: SentinelServiceAccountArgs, opts?: pulumi.ComponentResourceOptions) {
        super("tile38-ha:kubernetes:SentinelServiceAccount", name, {}, opts);
        this.serviceAccount = new k8s.core.v1.ServiceAccount(name, buildSentinelServiceAccountSpec(args.config), { parent: this });
        this.name = this.serviceAccount.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
