# A custom Beam SDK container for license-filter workers (Dataflow, Flink, Spark with
# --environment_type=DOCKER). The launcher's Beam version must equal BEAM_VERSION.
#
#   docker build -t REGISTRY/license-filter-worker:0.1.0 .
#   docker push REGISTRY/license-filter-worker:0.1.0
#   license-filter filter ... --runner=DataflowRunner --sdk_container_image=REGISTRY/license-filter-worker:0.1.0
#
# See docs/DEPLOY.md. Not built in CI (no Docker daemon there).
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}
ARG BEAM_VERSION
# gcp for gs:// paths, aws for s3:// paths; build with --build-arg EXTRAS=gcp,aws for both
ARG EXTRAS=gcp

# Install from a throw-away copy so the workers import the installed package, never a source tree.
COPY pyproject.toml README.md /tmp/license-filter/
COPY license_rules /tmp/license-filter/license_rules
COPY transforms /tmp/license-filter/transforms
COPY pipelines /tmp/license-filter/pipelines
RUN echo "apache-beam==${BEAM_VERSION}" > /tmp/beam-constraint.txt \
 && pip install --no-cache-dir --constraint /tmp/beam-constraint.txt "/tmp/license-filter[${EXTRAS}]" \
 && rm -rf /tmp/license-filter /tmp/beam-constraint.txt \
 && cd / && python -c "import apache_beam, license_rules, transforms, pipelines; \
from license_rules.policy import load_policy; load_policy('permissive'); print('license-filter OK, beam', apache_beam.__version__)"

# Keep the SDK image's ENTRYPOINT (/opt/apache/beam/boot): the runner starts the SDK harness through it.
