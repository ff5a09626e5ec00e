"""Customer profiles (Identify): reads, writes, erasure and the portability export, over the store.

Examples
--------
>>> from customers import CustomerService  # doctest: +SKIP
"""

from customers.service import CustomerRecords, CustomerService, CustomerView

__all__ = ["CustomerRecords", "CustomerService", "CustomerView"]
