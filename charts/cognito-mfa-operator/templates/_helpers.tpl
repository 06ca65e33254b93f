{{/* The chart's name. */}}
{{- define "cognito-mfa-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource's name. */}}
{{- define "cognito-mfa-operator.fullname" -}}
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

{{- define "cognito-mfa-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "cognito-mfa-operator.labels" -}}
helm.sh/chart: {{ include "cognito-mfa-operator.chart" . }}
app.kubernetes.io/name: {{ include "cognito-mfa-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cognito-mfa-operator
{{- end }}

{{/* The manager's pods: the Deployment's selector and the Service's. */}}
{{- define "cognito-mfa-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cognito-mfa-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end }}

{{- define "cognito-mfa-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cognito-mfa-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cognito-mfa-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The generated RBAC rules of files/rbac.yaml (make chart, from
config/rbac/role.yaml) whose scope is in .scopes, each under a comment that
says why the manager needs it.
*/}}
{{- define "cognito-mfa-operator.rules" -}}
{{- $scopes := .scopes }}
{{- range (.root.Files.Get "files/rbac.yaml" | fromYaml).rules }}
{{- if has .scope $scopes }}
# {{ .why }}
- apiGroups: {{ toJson .apiGroups }}
  resources: {{ toJson .resources }}
  verbs: {{ toJson .verbs }}
{{- end }}
{{- end }}
{{- end }}

{{/* The manager's arguments. */}}
{{- define "cognito-mfa-operator.args" -}}
{{- if .Values.leaderElection.enabled }}
- --leader-elect
{{- end }}
- --metrics-bind-address=:{{ .Values.ports.metrics }}
- --health-probe-bind-address=:{{ .Values.ports.probes }}
{{- if .Values.metrics.secure }}
- --metrics-secure
{{- end }}
{{- with .Values.watchNamespaces }}
- --namespaces={{ join "," . }}
- --namespace-rights={{ include "cognito-mfa-operator.fullname" $ }}-watched
{{- end }}
{{- if .Values.requireUserPoolRef }}
- --require-user-pool-ref
{{- end }}
{{- with .Values.logLevel }}
- --log-level={{ . }}
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}
