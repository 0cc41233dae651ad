# src/delivery: the delivery engine (OpenSMTPD's "mta" role): the scheduler
# over the queue (delivery.c, delivery_sched.c) and the link under each client
# session (delivery_conn.c: DNS, TCP, TLS, reply assembly). The SMTP client
# protocol itself is src/smtpc.
file(GLOB _delivery_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/*.c")
list(APPEND NR_CORE_SOURCES ${_delivery_sources})
