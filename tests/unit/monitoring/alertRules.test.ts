/**
 * The alert rules are described once (components/monitoring/alertRules.ts): the rule file and
 * docs/monitoring.md's table are what `npm run docs:monitoring` writes from it, the real promtool
 * accepts the file, and its unit tests (monitoring/tile38-ha.rules.test.yml: for every alert, a
 * series that fires it and one that must not) pass. Without promtool those are skipped, loudly.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import { TILE38_HA_RULE_GROUPS } from "../../../components/monitoring/alertRules";
import { MONITORING_DOC, README, renderAlertTable, renderReadmeAlerts, renderRules, RULES_FILE, RULES_TEST_FILE, withAlertTable, withReadmeAlerts } from "../../../testing/docs/monitoringFiles";
import { ALERTS_SEEN_LIVE } from "../../../testing/scenarios/alertDrill";
import { runCommand } from "../../../testing/command";
import { findGoBinary, promtoolSkipReason } from "../../../testing/fixtures/prometheus";

const alerts = TILE38_HA_RULE_GROUPS.flatMap((g) => g.rules);

describe("the alert rules (components/monitoring/alertRules.ts)", () => {
    it("monitoring/tile38-ha.rules.yml is what npm run docs:monitoring writes (run it after changing a rule)", () => {
        expect(fs.readFileSync(RULES_FILE, "utf8")).toBe(renderRules());
    });

    it("docs/monitoring.md's alert table is what npm run docs:monitoring writes", () => {
        const current = fs.readFileSync(MONITORING_DOC, "utf8");
        expect(current).toBe(withAlertTable(current, renderAlertTable()));
    });

    it("the README's alert list is what npm run docs:monitoring writes, and names for every alert the state a live suite fires it in", () => {
        const current = fs.readFileSync(README, "utf8");
        expect(current).toBe(withReadmeAlerts(current, renderReadmeAlerts()));
        expect(Object.keys(ALERTS_SEEN_LIVE).sort()).toEqual(alerts.map((a) => a.alert).sort());
    });

    it("names every alert Tile38Ha…, once, with a severity, a summary and a description", () => {
        const names = alerts.map((a) => a.alert);
        expect(new Set(names).size).toBe(names.length);
        for (const a of alerts) {
            expect(a.alert).toMatch(/^Tile38Ha[A-Z]\w+$/);
            expect(["critical", "warning"]).toContain(a.labels.severity);
            expect(a.annotations.summary).toBeTruthy();
            expect(a.annotations.description).toBeTruthy();
        }
    });

    it("has, in the promtool tests, for every alert a case that fires it and one that must not", () => {
        const file = yaml.load(fs.readFileSync(RULES_TEST_FILE, "utf8")) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
        const cases = file.tests.flatMap((t) => t.alert_rule_test);
        for (const a of alerts) {
            const mine = cases.filter((c) => c.alertname === a.alert);
            expect({ alert: a.alert, fires: mine.some((c) => c.exp_alerts.length > 0), silent: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({ alert: a.alert, fires: true, silent: true });
        }
    });
});

const skip = promtoolSkipReason();
if (skip) console.warn(`SKIPPED "promtool checks of the alert rules": ${skip}`);
(skip ? describe.skip : describe)(`promtool checks of the alert rules${skip ? ` [skipped: ${skip}]` : ""}`, () => {
    const promtool = () => findGoBinary("promtool")!;

    it("promtool check rules accepts monitoring/tile38-ha.rules.yml", async () => {
        const r = await runCommand(promtool(), ["check", "rules", RULES_FILE], { timeoutMs: 30_000 });
        expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: expect.stringContaining(`SUCCESS: ${alerts.length} rules found`) });
    }, 60_000);

    it("promtool test rules passes monitoring/tile38-ha.rules.test.yml", async () => {
        const r = await runCommand(promtool(), ["test", "rules", RULES_TEST_FILE], { timeoutMs: 60_000 });
        expect({ code: r.code, out: r.stdout + r.stderr }).toEqual({ code: 0, out: expect.stringContaining("SUCCESS") });
    }, 90_000);
});
