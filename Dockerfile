# nonroot-admission: a static-stdlib Swift binary on distroless `cc`.
#
#   docker build -t nonroot-admission:0.1.0 .
#
# The build stage is the official Swift image at an exact version. The runtime stage is distroless
# `cc-debian12`, which holds exactly what the binary links dynamically (glibc, libm, libstdc++,
# libgcc_s and the loader, as `ldd` shows; Tests/InstallTests/StaticBuildTests.swift checks it), CA
# certificates and /etc/passwd, and no shell or package manager. It is pinned by digest; refresh the
# digest by asking the registry, never by hand:
#   crane digest gcr.io/distroless/cc-debian12:nonroot
#   docker buildx imagetools inspect gcr.io/distroless/cc-debian12:nonroot

FROM swift:6.3.1-bookworm AS build
WORKDIR /src
# Dependencies first, so that a source change does not re-fetch them.
COPY Package.* ./
RUN swift package resolve
COPY Sources ./Sources
# Package.swift declares the test targets, so their folders must exist; .dockerignore sends them
# empty except Tests/TestSupport. None of them is built for the product.
COPY Tests ./Tests
# swift-nio-extras asks the linker for -lz although it carries its own zlib; a folder holding only
# libz.a makes that request static, so the binary needs no libz.so.1 (distroless cc has none).
RUN mkdir -p /tmp/static-libs && ln -s "$(find /usr/lib -name libz.a | head -n 1)" /tmp/static-libs/libz.a \
    && swift build -c release --static-swift-stdlib --product nonroot-admission -Xlinker -L/tmp/static-libs \
    && install -D -m 0555 "$(swift build -c release --show-bin-path)/nonroot-admission" /out/nonroot-admission \
    && strip /out/nonroot-admission

FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f
# The run-time user, by number and never by name: the kubelet can verify runAsNonRoot only for a
# numeric USER ("image has non-numeric user … cannot verify user is non-root" otherwise). 65532 is
# distroless' `nonroot`. Kubernetes manifests set the same UID in runAsUser (deploy/base).
ENV APP_UID=65532
COPY --from=build /out/nonroot-admission /usr/local/bin/nonroot-admission
# Docker expands ENV in USER, so the image config's User is the number "65532".
USER $APP_UID
# 8443: the webhook (TLS); 8080: /metrics, /healthz, /readyz (plain HTTP).
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/nonroot-admission", "serve"]
