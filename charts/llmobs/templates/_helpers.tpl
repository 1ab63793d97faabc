{{/*
Names, labels and image references shared by every template.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "llmobs.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every object name: fullnameOverride, else the release name when it already contains the chart
name, else <release>-<chart>. Truncated so suffixed names (longest: "-operator-leader") stay within 63.
*/}}
{{- define "llmobs.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "llmobs.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Names of the objects the operator is told about through its flags. */}}
{{- define "llmobs.operatorName" -}}{{ include "llmobs.fullname" . }}-operator{{- end }}
{{- define "llmobs.webhookServiceName" -}}{{ include "llmobs.fullname" . }}-webhook{{- end }}
{{- define "llmobs.metricsServiceName" -}}{{ include "llmobs.fullname" . }}-metrics{{- end }}
{{- define "llmobs.webhookSecretName" -}}{{ include "llmobs.fullname" . }}-webhook-tls{{- end }}
{{- define "llmobs.webhookConfigName" -}}{{ include "llmobs.fullname" . }}{{- end }}
{{- define "llmobs.leaseName" -}}{{ include "llmobs.fullname" . }}-operator-leader{{- end }}
{{- define "llmobs.certificateName" -}}{{ include "llmobs.fullname" . }}-webhook{{- end }}
{{- define "llmobs.issuerName" -}}{{ include "llmobs.fullname" . }}-selfsigned{{- end }}

{{/* Where the cert-manager Secret is mounted in cert-manager mode (--webhook-cert-dir). */}}
{{- define "llmobs.webhookCertDir" -}}/var/run/llmobs/webhook-certs{{- end }}

{{- define "llmobs.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "llmobs.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Labels of every object. app.kubernetes.io/part-of=llmobs is also what the pod webhook's objectSelector and the
operator's own selection use to leave the operator's pods alone.
*/}}
{{- define "llmobs.labels" -}}
helm.sh/chart: {{ include "llmobs.chart" . }}
{{ include "llmobs.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llmobs
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "llmobs.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llmobs.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector of the operator's pods. */}}
{{- define "llmobs.operatorSelectorLabels" -}}
{{ include "llmobs.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
An image reference from {repository, tag, digest}: repository@digest when a digest is set, else
repository:tag with the chart's appVersion as the default tag (never "latest").
Usage: include "llmobs.image" (dict "image" .Values.operator.image "context" $)
*/}}
{{- define "llmobs.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .context.Chart.AppVersion .image.tag) }}
{{- end }}
{{- end }}

{{/* Namespaces the webhooks never see: kube-system, the release namespace, then webhook.excludedNamespaces. */}}
{{- define "llmobs.excludedNamespaces" -}}
{{- $ns := list "kube-system" .Release.Namespace }}
{{- range .Values.webhook.excludedNamespaces }}
{{- $ns = append $ns . }}
{{- end }}
{{- $ns | uniq | toJson }}
{{- end }}
