/**
 * The shipped Grafana dashboard (monitoring/tile38-ha.dashboard.json): importable as is (schema
 * 39, a Prometheus datasource variable, the cluster variable), every query scoped to the chosen
 * cluster, and dashboardQueries() lists them all with the cluster substituted. That each query
 * returns series from a real Prometheus is the integration suite's job (prometheusHarness.test.ts).
 */
import * as fs from "fs";
import { DASHBOARD_FILE, dashboardQueries, selectedMetrics } from "../../../components/monitoring/dashboard";

interface Panel {
    id: number;
    type: string;
    title: string;
    datasource?: { type: string; uid: string };
    gridPos: { x: number; y: number; w: number; h: number };
    targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}
const dashboard = JSON.parse(fs.readFileSync(DASHBOARD_FILE, "utf8")) as {
    schemaVersion: number;
    uid: string;
    templating: { list: { name: string; type: string; query: unknown }[] };
    panels: Panel[];
};

describe("the Grafana dashboard", () => {
    it("is schema 39 with a Prometheus datasource variable and a cluster variable from tile38_replication_info", () => {
        expect(dashboard.schemaVersion).toBe(39);
        const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
        expect(vars.datasource).toMatchObject({ type: "datasource", query: "prometheus" });
        expect(vars.cluster).toMatchObject({ type: "query", query: { query: "label_values(tile38_replication_info, tile38_ha_cluster)" } });
    });

    it("has unique panel ids inside the 24-column grid, each query on ${datasource}", () => {
        const ids = dashboard.panels.map((p) => p.id);
        expect(new Set(ids).size).toBe(ids.length);
        for (const p of dashboard.panels) {
            expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
            if (p.type === "row") continue;
            expect({ panel: p.title, ds: p.datasource?.uid, targets: (p.targets ?? []).map((t) => t.datasource?.uid) }).toEqual({
                panel: p.title,
                ds: "${datasource}",
                targets: (p.targets ?? []).map(() => "${datasource}"),
            });
        }
    });

    it("scopes every selector of every query to the chosen cluster", () => {
        for (const p of dashboard.panels) {
            for (const t of p.targets ?? []) {
                const selectors = [...t.expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{([^}]*)\}/g)];
                expect(selectors.length).toBeGreaterThan(0);
                for (const s of selectors) expect({ panel: p.title, selector: s[0], scoped: s[1].includes('tile38_ha_cluster="$cluster"') }).toMatchObject({ scoped: true });
            }
        }
    });

    it("lists every query with the cluster substituted (escaped for a label matcher) and the processes it reads", () => {
        const queries = dashboardQueries('geo "eu"');
        const all = dashboard.panels.flatMap((p) => p.targets ?? []);
        expect(queries).toHaveLength(all.length);
        for (const q of queries) {
            expect(q.expr).not.toContain("$cluster");
            expect(q.expr).toContain('tile38_ha_cluster="geo \\"eu\\""');
            expect(q.components.length).toBeGreaterThan(0);
        }
        const components = new Set(queries.flatMap((q) => q.components));
        expect([...components].sort()).toEqual(["backup", "sentinel", "tile38"]);
        expect(selectedMetrics('rate(tile38_cmd_duration_seconds_count{cmd="set"}[1m]) - up{x="y"}')).toEqual(["tile38_cmd_duration_seconds_count", "up"]);
    });
});
