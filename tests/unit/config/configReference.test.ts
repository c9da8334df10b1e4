/**
 * The configuration is described once: docs/configuration.md's table is generated from the
 * schema's keys and the types' TSDoc (`npm run docs:config`); it must be up to date, and every
 * key must be documented where it is declared.
 */
import * as fs from "fs";
import { REFERENCE_FILE, renderReference, withReference } from "../../../testing/docs/configReference";
import { SECRET_KEYS, SECTION_FIELDS, TOP_LEVEL_FIELDS } from "../../../config/schema";

describe("docs/configuration.md", () => {
    const table = renderReference();

    it("is what npm run docs:config writes (run it after changing a setting)", () => {
        const current = fs.readFileSync(REFERENCE_FILE, "utf8");
        expect(current).toBe(withReference(current, table));
    });

    it("has one row per key of the schema, the secrets included", () => {
        const keys = [...Object.keys(TOP_LEVEL_FIELDS), ...SECRET_KEYS, ...Object.entries(SECTION_FIELDS).flatMap(([s, f]) => Object.keys(f).map((k) => `${s}.${k}`))];
        const rows = table.split("\n").slice(2).map((r) => /^\| `([^`]+)`/.exec(r)![1]);
        expect(rows).toEqual(keys);
    });
});
