import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { StackConfig } from "../../config/types";

/**
 * The provider arguments for the stack's `kubernetes` section: an explicit kubeconfig (path or
 * contents) and context, or the ambient ones (`KUBECONFIG`, `~/.kube/config`, its current
 * context) when unset; `renderYamlToDirectory` writes manifests instead of applying them (GitOps).
 * Server-side apply stays on (the provider's default). ConfigMaps are updated in place: the
 * scripts ConfigMap has a fixed name, so the provider's default (replace on any data change)
 * deletes it before creating it again, and a pod starting or stopping meanwhile finds no scripts;
 * the pods roll on a change through their config-hash annotation, not the ConfigMap's identity.
 */
export function buildKubernetesProviderArgs(cfg: StackConfig): k8s.ProviderArgs {
    const k = cfg.kubernetes;
    const args: k8s.ProviderArgs = { enableConfigMapMutable: true };
    if (k.kubeconfig !== undefined) args.kubeconfig = k.kubeconfig;
    if (k.context !== undefined) args.context = k.context;
    if (k.renderYamlToDirectory !== undefined) args.renderYamlToDirectory = k.renderYamlToDirectory;
    return args;
}

/**
 * A Kubernetes provider for the stack (see {@link buildKubernetesProviderArgs}). An explicit
 * provider keeps the target cluster a property of the stack rather than of whoever runs `pulumi`.
 * Note: with `renderYamlToDirectory`, the Secret is written to that directory too (base64, not
 * encrypted): do not commit it; see docs/kubernetes.md.
 */
export function createKubernetesProvider(cfg: StackConfig, name = "kubernetes", opts?: pulumi.CustomResourceOptions): k8s.Provider {
    return new k8s.Provider(name, buildKubernetesProviderArgs(cfg), opts);
}
