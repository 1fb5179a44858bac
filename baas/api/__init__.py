"""HTTP only: each route parses the request, calls a service (`baas.records`, `baas.auth`,
`baas.files`, `baas.admin`, …) and shapes the answer; `routes.ROUTES` lists them all."""
