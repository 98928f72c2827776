/**
 * The largest inbound message (MQTT PUBLISH payload, AMQP message, HTTPS body) a connector takes. Above what any cloud sends a device
 * (IoT Hub: 256 KB messages, 64 KB C2D; IoT Core: 128 KB), far below what would hurt a gateway with a
 * 300 MB memory cap. Commands have their own, lower limit on top. See docs/inbound-limits.md.
 */
export const MAX_INBOUND_PAYLOAD_BYTES = 256 * 1024;
