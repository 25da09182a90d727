"""The MFA domain: policy, evidence, compliance and lifecycle. Pure Python, no Django."""
