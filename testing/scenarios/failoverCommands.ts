/**
 * The commands `npm run failover -- <stack>` runs: the rendered stop script (the planned
 * hand-over, see components/render/scripts/tile38-handover.sh) inside every Tile38 container or
 * pod. Only the node that leads acts; the others answer "not the leader". The script runs where
 * the passwords already are (the container's environment), so nothing secret passes through here.
 */
import { StackConfig } from "../../config/types";
import { SCRIPT_DIR, TILE38_STOP_SCRIPT } from "../../components/docker/containerSpec";
import { CONFIGMAP_KEYS, MOUNTS } from "../../components/kubernetes/common";
import { dockerTopology, K8S_NAMES } from "../../components/render/topology";

/** Makes the stop script exit non-zero when the leader could not hand over (preStop never does). */
export const STRICT_ENV = "TILE38_HANDOVER_STRICT=1";

/** One argv per node, node 1 first. */
export function failoverCommands(cfg: StackConfig): string[][] {
    if (cfg.target === "docker") {
        return dockerTopology(cfg).nodes.map((n) => [
            "docker", "exec",
            "-e", `NODE_HOST=${n.host}`, "-e", `NODE_PORT=${n.port}`, "-e", `NODE_BIND=${cfg.docker.bindAddress}`, "-e", "DATA_DIR=/data",
            "-e", STRICT_ENV,
            n.name, "sh", `${SCRIPT_DIR}/${TILE38_STOP_SCRIPT}`,
        ]);
    }
    const k = cfg.kubernetes;
    const kubectl = ["kubectl", ...(k.kubeconfig ? ["--kubeconfig", k.kubeconfig] : []), ...(k.context ? ["--context", k.context] : []), "-n", k.namespace];
    return Array.from({ length: cfg.replicas }, (_, i) => [
        ...kubectl, "exec", `${K8S_NAMES.tile38}-${i}`, "-c", "tile38", "--",
        "env", STRICT_ENV, "sh", `${MOUNTS.scripts}/${CONFIGMAP_KEYS.tile38Stop}`,
    ]);
}
