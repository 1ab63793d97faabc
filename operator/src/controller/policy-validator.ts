import { KIND } from '../api/v1alpha1/constants.ts';
import { effectiveConfig, policiesFor } from '../manifests/effective.ts';
import type { LLMObservability, LLMObservabilityPolicy } from '../manifests/resources.ts';
import { type AdmissionRequest, type AdmissionResponse, allowed } from '../webhook/admission.ts';
import type { Validator } from '../webhook/server.ts';

export const VALIDATE_LLMOBSERVABILITY_PATH = '/validate-llmobs-dev-v1alpha1-llmobservability';

export interface PolicyView {
  policies(): readonly LLMObservabilityPolicy[];
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

/**
 * Refuses an LLMObservability that asks for less than a policy selecting its namespace allows — more
 * content capture, fewer redacted entities, an exporter endpoint outside the allowed list — naming
 * each field and the policy. Resources that predate a policy are handled by the reconciler instead
 * (run at the floor, PolicyCompliant=False).
 */
export function policyValidator(view: PolicyView): Validator {
  return {
    path: VALIDATE_LLMOBSERVABILITY_PATH,
    validate(req: AdmissionRequest): AdmissionResponse {
      const obj = req.object as LLMObservability | undefined;
      if (!obj || req.kind.kind !== KIND || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) {
        return allowed(req);
      }
      const ns = obj.metadata?.namespace ?? req.namespace ?? '';
      const labels = view.namespaceLabels(ns);
      if (labels === undefined) {
        // Namespace not in the cache yet: admit, the reconciler still applies the floors.
        return allowed(req, [
          `namespace ${ns} not known yet; policy floors are applied by the operator instead`,
        ]);
      }
      const eff = effectiveConfig(obj, policiesFor(view.policies(), labels));
      if (eff.violations.length === 0) return allowed(req);
      const message = eff.violations.map((v) => `${v.field}: ${v.message}`).join('; ');
      return {
        uid: req.uid,
        allowed: false,
        status: {
          code: 403,
          reason: 'Forbidden',
          message: `${KIND} ${ns}/${obj.metadata?.name} is below a platform floor: ${message}`,
        },
      };
    },
  };
}
