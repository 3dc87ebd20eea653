"""The discovery loop: ranked, self-describing clusters, a weirdest-first queue, search from
examples."""
