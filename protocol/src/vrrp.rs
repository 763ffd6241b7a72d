//! VRRPv2/v3 advertisements. Being written.
