import * as fs from "fs";
import * as path from "path";
import { parseStackConfig, RawStackValues } from "../../../config/parse";
import { formatIssues } from "../../../config/validate";
import { StackConfig } from "../../../config/types";
import { renderSentinelConf } from "../../../components/render/sentinelConf";
import { renderSentinelStartScript } from "../../../components/render/sentinelScripts";
import { renderTile38StartScript, renderTile38StopScript } from "../../../components/render/tile38Scripts";
import { dockerTopology, Endpoint, Topology } from "../../../components/render/topology";

/** A complete Docker-target StackConfig from raw stack values; throws on any config issue. */
export function testStackConfig(raw: Omit<RawStackValues, "target">): StackConfig {
    const { config, issues } = parseStackConfig({ target: "docker", ...raw }, { stack: "test", platform: "linux" });
    if (issues.length > 0) throw new Error(`test stack config is invalid:\n${formatIssues(issues)}`);
    return config;
}

/** The rendered scripts of a Docker (host networking) stack, written to files. */
export interface RenderedStack {
    cfg: StackConfig;
    topo: Topology;
    dir: string;
    sentinelStart: string;
    tile38Start: string;
    tile38Stop: string;
    /** Writes sentinel `index`'s rendered template naming `leader` (default: node 0) and returns its path. */
    sentinelTemplate(index: number, leader?: Endpoint): string;
}

function write(file: string, text: string, mode = 0o644): string {
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode);
    return file;
}

/** Renders every script exactly as the Docker target does (dockerTopology + the render/ functions). */
export function renderStack(cfg: StackConfig, dir: string): RenderedStack {
    const topo = dockerTopology(cfg);
    fs.mkdirSync(dir, { recursive: true });
    let templates = 0;
    return {
        cfg,
        topo,
        dir,
        sentinelStart: write(path.join(dir, "sentinel-start.sh"), renderSentinelStartScript(topo), 0o755),
        tile38Start: write(path.join(dir, "tile38-start.sh"), renderTile38StartScript(topo), 0o755),
        tile38Stop: write(path.join(dir, "tile38-stop.sh"), renderTile38StopScript(topo), 0o755),
        sentinelTemplate(index, leader = topo.nodes[0]) {
            const text = renderSentinelConf(topo.sentinels[index], topo, leader, cfg.docker.bindAddress);
            return write(path.join(dir, `sentinel-${index + 1}-${++templates}.conf`), text);
        },
    };
}
