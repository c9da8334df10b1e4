import { renderScriptFile } from "./scriptFiles";
import { endpointList, Topology } from "./topology";

/**
 * The live password switch (`scripts/password-switch.sh`), run before a `pulumi up` replaces any
 * container when a password changed: every running sentinel accepts the new sentinel password
 * besides the old one, every Tile38 node requires the new Tile38 password, every sentinel
 * authenticates to the nodes with it; connections already open stay authenticated. It reads the
 * old passwords from the processes' own files: `nodeDirs[i]` is node i's data volume (its Tile38
 * `config`), `sentinelDirs[i]` sentinel i's (its `sentinel.conf`), both mounted read-only. The
 * new passwords come from its environment (`TILE38_PASSWORD`, `SENTINEL_PASSWORD`), never from a
 * rendered file.
 */
export function renderPasswordSwitchScript(topo: Topology, nodeDirs: readonly string[], sentinelDirs: readonly string[]): string {
    if (nodeDirs.length !== topo.nodes.length || sentinelDirs.length !== topo.sentinels.length) {
        throw new Error(`renderPasswordSwitchScript: ${topo.nodes.length} nodes and ${topo.sentinels.length} sentinels need as many directories (got ${nodeDirs.length} and ${sentinelDirs.length})`);
    }
    return renderScriptFile("password-switch.sh", {
        MASTER_NAME: topo.masterName,
        SENTINELS: endpointList(topo.sentinels),
        TILE38_NODES: endpointList(topo.nodes),
        NODE_DIRS: nodeDirs.join(" "),
        SENTINEL_DIRS: sentinelDirs.join(" "),
    });
}
