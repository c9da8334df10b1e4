import { renderScriptFile } from "./scriptFiles";
import { endpointList, Topology } from "./topology";

/** Files of the old passwords under `oldPasswordsDir` (as the script names them). */
export const OLD_PASSWORD_FILES = { tile38: "tile38-password", sentinel: "sentinel-password" } as const;

/** Where the switch finds the old passwords; at least one of the two. */
export interface PasswordSwitchSources {
    /** Node i's data directory (its Tile38 `config`), node 1 first (Docker: volumes mounted read-only). Default: none. */
    nodeDirs?: readonly string[];
    /** Sentinel i's data directory (its `sentinel.conf`), sentinel 1 first. Default: none. */
    sentinelDirs?: readonly string[];
    /**
     * A directory holding the old passwords as {@link OLD_PASSWORD_FILES} (Kubernetes: the cluster
     * Secret as deployed before the update, mounted). Default: none.
     */
    oldPasswordsDir?: string;
}

/**
 * The live password switch (`scripts/password-switch.sh`), run before a `pulumi up` replaces any
 * container when a password changed: every running sentinel accepts the new sentinel password
 * besides the old one, every Tile38 node requires the new Tile38 password, every sentinel
 * authenticates to the nodes with it; connections already open stay authenticated. It tries
 * the old passwords from `sources` (the processes' own files, and/or the old Secret). The new
 * passwords come from its environment (`TILE38_PASSWORD`, `SENTINEL_PASSWORD`), never from a
 * rendered file.
 */
export function renderPasswordSwitchScript(topo: Topology, sources: PasswordSwitchSources): string {
    const nodeDirs = sources.nodeDirs ?? [];
    const sentinelDirs = sources.sentinelDirs ?? [];
    const withDirs = nodeDirs.length > 0 || sentinelDirs.length > 0;
    if (withDirs && (nodeDirs.length !== topo.nodes.length || sentinelDirs.length !== topo.sentinels.length)) {
        throw new Error(`renderPasswordSwitchScript: ${topo.nodes.length} nodes and ${topo.sentinels.length} sentinels need as many directories (got ${nodeDirs.length} and ${sentinelDirs.length})`);
    }
    if (!withDirs && sources.oldPasswordsDir === undefined) throw new Error("renderPasswordSwitchScript: no source of the old passwords (directories or oldPasswordsDir)");
    return renderScriptFile("password-switch.sh", {
        MASTER_NAME: topo.masterName,
        SENTINELS: endpointList(topo.sentinels),
        TILE38_NODES: endpointList(topo.nodes),
        NODE_DIRS: nodeDirs.join(" "),
        SENTINEL_DIRS: sentinelDirs.join(" "),
        OLD_PASSWORDS_DIR: sources.oldPasswordsDir ?? "",
    });
}
