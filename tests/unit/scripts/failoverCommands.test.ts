import { failoverCommands, STRICT_ENV } from "../../../testing/scenarios/failoverCommands";
import { parseStackConfig } from "../../../config/parse";
import { StackConfig } from "../../../config/types";

function cfg(raw: Record<string, unknown>): StackConfig {
    const { config, issues } = parseStackConfig(raw, { stack: "t", platform: "linux" });
    expect(issues).toEqual([]);
    return config;
}

describe("npm run failover commands", () => {
    it("docker: runs the uploaded stop script in every Tile38 container with the node's identity, strict", () => {
        const cmds = failoverCommands(cfg({ target: "docker" }));
        expect(cmds).toHaveLength(3);
        expect(cmds[1]).toEqual([
            "docker", "exec",
            "-e", "NODE_HOST=127.0.0.1", "-e", "NODE_PORT=9852", "-e", "NODE_BIND=127.0.0.1", "-e", "DATA_DIR=/data",
            "-e", STRICT_ENV,
            "tile38-ha-t-tile38-2", "sh", "/etc/tile38-ha/tile38-stop.sh",
        ]);
        // No password on any command line: the script reads the container's own environment.
        expect(cmds.flat().join(" ")).not.toMatch(/PASSWORD/);
    });

    it("kubernetes: kubectl exec into every Tile38 pod's container, with the stack's kubeconfig and context", () => {
        const cmds = failoverCommands(cfg({ target: "kubernetes", replicas: "5", kubernetes: { namespace: "geo", kubeconfig: "/k", context: "eks" } }));
        expect(cmds).toHaveLength(5);
        expect(cmds[4]).toEqual(["kubectl", "--kubeconfig", "/k", "--context", "eks", "-n", "geo", "exec", "tile38-4", "-c", "tile38", "--", "env", STRICT_ENV, "sh", "/scripts/tile38-stop.sh"]);
    });
});
