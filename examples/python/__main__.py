"""A platform team's Python program: a Tile38 cluster on a Linux Docker host, from the tile38-ha
package (`pulumi package add <tile38-ha>` generates the `pulumi_tile38_ha` SDK). Runs with no stack
config (three nodes on 127.0.0.1, generated passwords, local backups); every argument is typed."""
import pulumi
import pulumi_tile38_ha as tile38_ha

config = pulumi.Config()

geo = tile38_ha.DockerTile38Cluster(
    "geo",
    replicas=3,
    tile38=tile38_ha.PartialTile38SettingsArgs(
        image=config.get("tile38Image"),
        port=config.get_int("tile38Port") or 9851,
    ),
    sentinel=tile38_ha.PartialSentinelSettingsArgs(
        image=config.get("sentinelImage"),
        port=config.get_int("sentinelPort") or 5000,
    ),
    docker=tile38_ha.PartialDockerSettingsArgs(advertise_host=config.get("advertiseHost") or "127.0.0.1"),
    backup=tile38_ha.PartialBackupSettingsArgs(
        enabled=config.get_bool("backups") if config.get_bool("backups") is not None else True,
        local_image=config.get("s3Image"),
        local_port=config.get_int("s3Port") or 9000,
        agent_image=config.get("backupAgentImage"),
    ),
    metrics=tile38_ha.PartialMetricsSettingsArgs(sentinel_exporter_image=config.get("sentinelExporterImage")),
)

pulumi.export("connection", geo.connection)
pulumi.export("tile38Endpoints", geo.tile38_endpoints)
pulumi.export("tile38Containers", geo.tile38_containers)
pulumi.export("sentinelContainers", geo.sentinel_containers)
pulumi.export("metricsTargets", geo.metrics_targets)
