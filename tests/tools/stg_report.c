/*
 * stg_report.c - `starttls-guard report` as a tool of its own, for
 * tests/run-report.sh while the main command line does not dispatch
 * "report" yet (and for running the report code alone under sanitizers).
 *
 *   stg_report [-o DIR] [--org NAME] [--contact ADDR] EVE_FILE
 */
#include "gateway/output/gw_log.h"
#include "gateway/output/gw_report.h"

int
main(int argc, char **argv)
{
	gw_log_init("stg_report", GW_LOG_INFO, 0);
	return gw_report_main(argc, argv);
}
