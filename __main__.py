"""The per-website Pulumi program (see Pulumi.yaml): `pulumi stack select <website>-<env> && pulumi up`."""

from divio_storage_infra.program import main

main()
