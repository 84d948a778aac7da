/*
 * gw_stats.c - the names of the counters' labels that more than one side
 * uses: the engine counts sessions by these names, the outputs print them.
 */
#include "gw_stats.h"

const char *const gw_verdict_names[GW_V_COUNT] = { "accept", "bypass", "drop", "block" };

const char *const gw_session_names[GW_S_COUNT] = { "tls", "plaintext", "blocked",
    "tls_failed", "not_inspected", "incomplete", "other" };

const char *
gw_verdict_name(enum gw_verdict v)
{
	return (unsigned)v < GW_V_COUNT ? gw_verdict_names[v] : "?";
}
