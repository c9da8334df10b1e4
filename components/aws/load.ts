/**
 * The AWS half of the backups, loaded only when a cluster stores backups in S3 (`backup.store:
 * aws`): `@pulumi/aws` is an optional peer dependency, so that a program (or a Python or YAML
 * program through the plugin) that keeps backups on a local store never needs the AWS SDK or
 * its provider plugin.
 */
import type * as bucket from "./backupBucket";
import type * as iam from "./backupIam";

/** The AWS components and their argument builders. */
export type AwsBackups = typeof bucket & typeof iam;

/** Loads the AWS components; a clear error when `@pulumi/aws` is not installed. */
export function loadAwsBackups(): AwsBackups {
    try {
        require.resolve("@pulumi/aws");
    } catch {
        throw new Error('tile38-ha: backups to S3 (backup.store "aws") need the @pulumi/aws package: npm install @pulumi/aws@^7 (or turn backups off, or use store "local" on Docker)');
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { ...(require("./backupBucket") as typeof bucket), ...(require("./backupIam") as typeof iam) };
}
