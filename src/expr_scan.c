/*-------------------------------------------------------------------------
 *
 * expr_scan.c
 *	  (placeholder until the expression language lands)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "expr.h"
