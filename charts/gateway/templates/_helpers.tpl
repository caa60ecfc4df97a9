{{/*
Named templates shared by the chart's manifests. Names are cut to 63 characters because
Kubernetes uses them as DNS labels.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: fullnameOverride, else RELEASE-NAME, else RELEASE alone when the
release name already contains the chart name (so "gateway" does not become "gateway-gateway").
*/}}
{{- define "gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every resource of the release carries. */}}
{{- define "gateway.labels" -}}
helm.sh/chart: {{ include "gateway.chart" . }}
{{ include "gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/component: gateway
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels that select the release's pods. Never change them: selectors are immutable. */}}
{{- define "gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The admin Service's name: FULLNAME-admin, still within 63 characters. */}}
{{- define "gateway.adminServiceName" -}}
{{- printf "%s-admin" (include "gateway.fullname" . | trunc 57 | trimSuffix "-") }}
{{- end }}

{{/* The policy ConfigMap: the existing one, or the one the chart creates. */}}
{{- define "gateway.policyConfigMapName" -}}
{{- if .Values.policy.existingConfigMap }}
{{- .Values.policy.existingConfigMap }}
{{- else }}
{{- printf "%s-policy" (include "gateway.fullname" . | trunc 56 | trimSuffix "-") }}
{{- end }}
{{- end }}

{{/* What `serve --config` reads: the mounted folder, or one file in it. */}}
{{- define "gateway.configPath" -}}
{{- if .Values.policy.entry }}
{{- printf "%s/%s" (trimSuffix "/" .Values.policy.mountPath) .Values.policy.entry }}
{{- else }}
{{- .Values.policy.mountPath }}
{{- end }}
{{- end }}

{{/* image: repository@digest when a digest is given, else repository:tag (tag defaults to appVersion). */}}
{{- define "gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
The Secret a {name, key} reference points at: its own name when set; else the chart's Secret
when secret.create is on and holds the key; else nothing (the setting is left out).
Call with (dict "ref" .Values.admin.keySecret "root" $), for example.
*/}}
{{- define "gateway.secretRefName" -}}
{{- if .ref.name }}
{{- .ref.name }}
{{- else if and .root.Values.secret.create (hasKey .root.Values.secret.stringData .ref.key) }}
{{- include "gateway.fullname" .root }}
{{- end }}
{{- end }}

{{/*
OTEL_RESOURCE_ATTRIBUTES: where the pod runs (expanded by Kubernetes from the downward-API
variables the Deployment defines first), then telemetry.resourceAttributes in name order.
*/}}
{{- define "gateway.resourceAttributes" -}}
{{- $attributes := list "k8s.pod.name=$(POD_NAME)" "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.node.name=$(NODE_NAME)" }}
{{- range $name, $value := .Values.telemetry.resourceAttributes }}
{{- $attributes = append $attributes (printf "%s=%s" $name $value) }}
{{- end }}
{{- join "," $attributes }}
{{- end }}
