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

{{/* Where the webhook certificate Secret is mounted in certManager and secret TLS modes (--webhook-cert-dir). */}}
{{- define "llmobs.webhookCertDir" -}}/var/run/llmobs/webhook-certs{{- end }}

{{/*
The Secret the operator serves the webhooks from: its own (operator mode), cert-manager's (certManager mode),
both <fullname>-webhook-tls, or the user's (secret mode).
*/}}
{{- define "llmobs.webhookServingSecret" -}}
{{- if eq .Values.webhook.tls.mode "secret" }}
{{- required "webhook.tls.secret.name is required when webhook.tls.mode is secret" .Values.webhook.tls.secret.name }}
{{- else }}
{{- include "llmobs.webhookSecretName" . }}
{{- end }}
{{- end }}

{{/* webhook.tls.secret.caBundle as caBundle wants it: base64 of the PEM (given as PEM, or already in base64). */}}
{{- define "llmobs.webhookCaBundle" -}}
{{- $ca := required "webhook.tls.secret.caBundle is required when webhook.tls.mode is secret" .Values.webhook.tls.secret.caBundle | trim }}
{{- if hasPrefix "-----BEGIN" $ca }}
{{- $ca | printf "%s\n" | b64enc }}
{{- else }}
{{- $ca | nospace }}
{{- end }}
{{- end }}

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

{{/*
The alerting rules: files/alerts.yaml without its comment lines, every ${name} replaced by metrics.prometheusRule.alerts.<name>
(integral numbers without a decimal point, anything else as written) and the alerts named in
metrics.prometheusRule.disabledAlerts left out (a group left empty goes too). Renders {groups: [...]} as YAML.
test/chart/alerts.it.test.ts runs promtool on exactly this output.
*/}}
{{- define "llmobs.alertRules" -}}
{{- $p := .Values.metrics.prometheusRule }}
{{- /* Comment lines go first: they may mention placeholders. */}}
{{- $text := regexReplaceAll "(?m)^[ \t]*#.*\n" (.Files.Get "files/alerts.yaml") "" }}
{{- range $name, $v := $p.alerts }}
{{- $s := toString $v }}
{{- if and (not (kindIs "string" $v)) (eq (float64 $v) (float64 (int64 $v))) }}
{{- $s = printf "%d" (int64 $v) }}
{{- end }}
{{- $text = replace (printf "${%s}" $name) $s $text }}
{{- end }}
{{- $unresolved := regexFindAll "\\$\\{[A-Za-z0-9_]+\\}" $text -1 | uniq }}
{{- if $unresolved }}
{{- fail (printf "files/alerts.yaml uses %s, which metrics.prometheusRule.alerts does not set" (join ", " $unresolved)) }}
{{- end }}
{{- $groups := list }}
{{- range (fromYaml $text).groups }}
{{- $rules := list }}
{{- range .rules }}
{{- if not (has .alert $p.disabledAlerts) }}
{{- $rules = append $rules . }}
{{- end }}
{{- end }}
{{- if $rules }}
{{- $groups = append $groups (set (omit . "rules") "rules" $rules) }}
{{- end }}
{{- end }}
{{- toYaml (dict "groups" $groups) }}
{{- end }}
