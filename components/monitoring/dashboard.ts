/**
 * The Grafana dashboard tile38-ha ships (monitoring/tile38-ha.dashboard.json, copied into the
 * built package as dist/monitoring/) and its PromQL: every panel's queries with the `$cluster`
 * variable replaced, so that a live test can check that each one returns series from a real
 * Prometheus.
 */
import * as fs from "fs";
import * as path from "path";

/** The dashboard file: monitoring/ beside components/ (source) or beside dist/components/ (built). */
export const DASHBOARD_FILE = path.join(__dirname, "..", "..", "monitoring", "tile38-ha.dashboard.json");

/** One query of one panel. */
export interface DashboardQuery {
    /** The panel's title. */
    panel: string;
    /** The query's refId in its panel (A, B, …). */
    refId: string;
    /** The PromQL, `$cluster` / `${cluster}` replaced by the cluster's name. */
    expr: string;
    /** The processes whose metrics it reads (from the metric names it uses). */
    components: ("tile38" | "sentinel" | "backup")[];
}

interface PanelJson {
    title?: string;
    targets?: { refId?: string; expr?: string }[];
    panels?: PanelJson[];
}

/** The metric names an expression selects (every selector of the dashboard has a `{…}` matcher). */
export function selectedMetrics(expr: string): string[] {
    return [...new Set([...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]))];
}

/** The processes a PromQL expression reads, from its metric names (`up`: its component matcher). */
function componentsOf(expr: string): DashboardQuery["components"] {
    const found = new Set<DashboardQuery["components"][number]>();
    for (const name of selectedMetrics(expr)) {
        if (name.startsWith("redis_")) found.add("sentinel");
        else if (name.startsWith("tile38_ha_")) found.add("backup");
        else if (name.startsWith("tile38_")) found.add("tile38");
    }
    for (const m of expr.matchAll(/\bup\{[^}]*tile38_ha_component="(tile38|sentinel|backup)"/g)) found.add(m[1] as DashboardQuery["components"][number]);
    return [...found].sort();
}

/** The PromQL of every panel of the dashboard (rows' nested panels included), for `cluster`. */
export function dashboardQueries(cluster: string, file: string = DASHBOARD_FILE): DashboardQuery[] {
    const dashboard = JSON.parse(fs.readFileSync(file, "utf8")) as { panels: PanelJson[] };
    const out: DashboardQuery[] = [];
    const visit = (panels: PanelJson[]) => {
        for (const p of panels) {
            for (const t of p.targets ?? []) {
                if (!t.expr) continue;
                // The value goes inside a double-quoted label matcher.
                const value = JSON.stringify(cluster).slice(1, -1);
                const expr = t.expr.replace(/\$\{cluster\}|\$cluster\b/g, () => value);
                out.push({ panel: p.title ?? "(untitled)", refId: t.refId ?? "", expr, components: componentsOf(expr) });
            }
            visit(p.panels ?? []);
        }
    };
    visit(dashboard.panels);
    return out;
}
