# One image for every component (compose.yaml picks the command). Dependencies are installed
# at build time from deno.lock, so containers start without network access.
FROM denoland/deno:2.9.6
WORKDIR /app
COPY deno.json deno.lock ./
COPY . .
RUN deno install --frozen
# The dashboard bundle is built here, so Central serves it without writing to /app at run time.
RUN deno task web:build
USER deno
