/* SPDX-License-Identifier: MIT */
/* sluice: kernel-bypass packet I/O with the guardrails put back. */
#ifndef SLUICE_H
#define SLUICE_H

#include <sluice/core.h>
#include <sluice/pkt.h>
#include <sluice/mem.h>
#include <sluice/ring.h>
#include <sluice/net.h>
#include <sluice/port.h>
#include <sluice/udp.h>
#include <sluice/rdma.h>
#include <sluice/probe.h>
#include <sluice/auto.h>
#include <sluice/privs.h>
#include <sluice/live.h>
#include <sluice/dma.h>
#include <sluice/telemetry.h>
#include <sluice/lcore.h>

#endif
