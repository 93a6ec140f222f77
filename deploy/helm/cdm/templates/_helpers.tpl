{{/* Labels on every object; the component names the service. */}}
{{- define "cdm.labels" -}}
app.kubernetes.io/name: cdm
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "cdm.selector" -}}
app.kubernetes.io/name: cdm
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "cdm.name" -}}
{{ printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "cdm.image" -}}
{{ printf "%s/%s:%s" .root.Values.image.repository .service .root.Values.image.tag }}
{{- end -}}

{{/* A variable from the credentials Secret. */}}
{{- define "cdm.secret" -}}
valueFrom:
  secretKeyRef:
    name: {{ .root.Values.secrets.credentials }}
    key: {{ .key }}
    {{- if .optional }}
    optional: true
    {{- end }}
{{- end -}}

{{/*
State in PostgreSQL when secrets.database names a Secret (its key <SERVICE>_DATABASE_URL, e.g.
OTA_BRIDGE_DATABASE_URL): the service's passes then run on the replica holding a lease, so more
than one may run. Without it, SQLite on the pod's volume and one replica.
*/}}
{{- define "cdm.database" -}}
{{- if .root.Values.secrets.database }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.secrets.database }}
      key: {{ printf "%s_DATABASE_URL" (.component | upper | replace "-" "_") }}
{{- end }}
{{- end -}}

{{/* How many replicas: as the values ask with a database, one without (SQLite, no lease to share). */}}
{{- define "cdm.replicas" -}}
{{- if .root.Values.secrets.database }}{{ .replicas }}{{ else }}1{{ end }}
{{- end -}}

{{/* Every service: logs at the chosen level, /healthz and /metrics on all addresses of the pod. */}}
{{- define "cdm.baseEnv" -}}
- name: LOG_LEVEL
  value: {{ .root.Values.logLevel | quote }}
- name: HEALTH_HOST
  value: "0.0.0.0"
- name: HEALTH_PORT
  value: {{ .port | quote }}
{{- end -}}

{{/*
Ready when /healthz says every upstream answers; alive while the process serves the port at all
(a 503 from a slow upstream must not restart the bridge).
*/}}
{{- define "cdm.probes" -}}
ports:
  - name: health
    containerPort: {{ .port }}
  {{- range .extra }}
  - name: {{ .name }}
    containerPort: {{ .port }}
  {{- end }}
readinessProbe:
  httpGet: { path: /healthz, port: health }
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
livenessProbe:
  tcpSocket: { port: health }
  initialDelaySeconds: 20
  periodSeconds: 20
  failureThreshold: 6
{{- end -}}

{{/* Non-root (the image's node user), no privilege escalation, no capabilities. */}}
{{- define "cdm.securityContext" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 1000
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{- define "cdm.keycloakServiceAccount" -}}
- name: KEYCLOAK_URL
  value: {{ .root.Values.upstreams.keycloak.url | quote }}
- name: KEYCLOAK_REALM
  value: {{ .root.Values.upstreams.keycloak.realm | quote }}
- name: KEYCLOAK_CLIENT_ID
  value: cdm-bridge
- name: KEYCLOAK_CLIENT_SECRET
  {{- include "cdm.secret" (dict "root" .root "key" "BRIDGE_CLIENT_SECRET") | nindent 2 }}
{{- end -}}

{{- define "cdm.thingsboard" -}}
- name: THINGSBOARD_URL
  value: {{ .root.Values.upstreams.thingsboard.url | quote }}
- name: THINGSBOARD_USERNAME
  {{- include "cdm.secret" (dict "root" .root "key" "THINGSBOARD_USERNAME") | nindent 2 }}
- name: THINGSBOARD_PASSWORD
  {{- include "cdm.secret" (dict "root" .root "key" "THINGSBOARD_PASSWORD") | nindent 2 }}
{{- end -}}

{{- define "cdm.hawkbit" -}}
- name: HAWKBIT_URL
  value: {{ .root.Values.upstreams.hawkbit.url | quote }}
- name: HAWKBIT_USERNAME
  value: {{ .root.Values.upstreams.hawkbit.username | quote }}
- name: HAWKBIT_PASSWORD
  {{- include "cdm.secret" (dict "root" .root "key" "HAWKBIT_PASSWORD") | nindent 2 }}
{{- end -}}

{{- define "cdm.influxdb" -}}
- name: INFLUXDB_URL
  value: {{ .root.Values.upstreams.influxdb.url | quote }}
- name: INFLUXDB_ORG
  value: {{ .root.Values.upstreams.influxdb.org | quote }}
- name: INFLUXDB_TOKEN
  {{- include "cdm.secret" (dict "root" .root "key" "INFLUXDB_TOKEN") | nindent 2 }}
{{- end -}}

{{- define "cdm.oidc" -}}
- name: OIDC_ISSUER
  value: {{ printf "%s/realms/%s" .root.Values.upstreams.keycloak.publicUrl .root.Values.upstreams.keycloak.realm | quote }}
- name: OIDC_JWKS_URL
  value: {{ printf "%s/realms/%s/protocol/openid-connect/certs" .root.Values.upstreams.keycloak.url .root.Values.upstreams.keycloak.realm | quote }}
- name: OIDC_TOKEN_URL
  value: {{ printf "%s/realms/%s/protocol/openid-connect/token" .root.Values.upstreams.keycloak.url .root.Values.upstreams.keycloak.realm | quote }}
{{- end -}}

{{/* A ReadWriteOnce claim for a service's SQLite store. */}}
{{- define "cdm.pvc" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}
  labels:
    {{- include "cdm.labels" . | nindent 4 }}
spec:
  accessModes: [{{ .mode | default "ReadWriteOnce" }}]
  {{- with .storageClassName }}
  storageClassName: {{ . }}
  {{- end }}
  resources:
    requests:
      storage: {{ .size }}
{{- end -}}

{{/* The Service in front of a service's health port (metrics scraping, the directory). */}}
{{- define "cdm.healthService" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "cdm.name" . }}
  labels:
    {{- include "cdm.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "cdm.selector" . | nindent 4 }}
  ports:
    - name: health
      port: {{ .port }}
      targetPort: {{ .port }}
    {{- range .extra }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .port }}
    {{- end }}
{{- end -}}
