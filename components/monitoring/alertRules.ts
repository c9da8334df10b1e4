/**
 * The alert rules tile38-ha ships (Prometheus rule groups). This file is their one source:
 * `npm run docs:monitoring` writes monitoring/tile38-ha.rules.yml from it, the Kubernetes
 * PrometheusRule embeds it, and promtool's unit tests (monitoring/tile38-ha.rules.test.yml) run
 * against the written file.
 */

/** One alerting rule (Prometheus `rules:` entry). */
export interface AlertRule {
    /** Alert name, `Tile38Ha…`. */
    alert: string;
    /** PromQL expression; every series it returns is one alert. */
    expr: string;
    /** How long the expression must hold before the alert fires (Prometheus duration). */
    for?: string;
    /** Labels added to the alert (`severity`: `critical` or `warning`). */
    labels: Record<string, string>;
    /** `summary` and `description` (Go templates over the alert's labels and value). */
    annotations: Record<string, string>;
}

/** One rule group (Prometheus `groups:` entry). */
export interface RuleGroup {
    name: string;
    rules: AlertRule[];
}

/** The shipped rule groups. */
export const TILE38_HA_RULE_GROUPS: RuleGroup[] = [];
