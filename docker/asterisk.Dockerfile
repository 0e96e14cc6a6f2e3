# Asterisk 22 for liandong: Debian sid's packaged Asterisk, the same build the no-Docker path
# (`npm run asterisk:up`, src/asterisk/) runs in its chroot.
# Build context: docker/ (see docker-compose.yml). The configuration is NOT baked in (it holds
# the ARI password and AMI secret): `liandong asterisk render --profile production --out docker/asterisk-etc`
# writes it, compose mounts it read-only at /etc/asterisk-liandong, and the entrypoint copies
# it over Debian's defaults in /etc/asterisk at every start.
FROM debian:sid

# Check-Valid-Until=false: sid's Release files expire quickly; a host clock off by days must not
# break the build.
RUN apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false install -y --no-install-recommends asterisk tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && cp -a /etc/asterisk /etc/asterisk.dist \
 && mkdir -p /var/run/asterisk \
 && chown asterisk:asterisk /var/run/asterisk

COPY asterisk-entrypoint.sh /usr/local/bin/asterisk-entrypoint.sh

# Same as the chroot: starts as root, runs as the package's asterisk user (-U/-G).
ENTRYPOINT ["/usr/local/bin/asterisk-entrypoint.sh"]
CMD ["asterisk", "-f", "-n", "-U", "asterisk", "-G", "asterisk"]

HEALTHCHECK --interval=10s --timeout=5s --start-period=20s \
  CMD asterisk -rx 'core waitfullybooted' | grep -q 'fully booted'
