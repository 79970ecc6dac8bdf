"""What the tests share: connections in a real Airflow, a fault-injecting proxy, the emulator's pinned clock and
reading exports back, moto's S3 server, the SQL warehouses, and the README's examples. (The local Airflow and the
PostgreSQL server are the package's own harness: ``airflow_provider_instagram.local_airflow``.)"""
